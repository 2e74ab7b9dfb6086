"""Several replicas on one PostgreSQL database: one leads (receives and answers), the others
stand by and take over within seconds when it goes.

With SQLite there is one process per file (its lock), so this does nothing. With PostgreSQL,
`python -m bot` started N times shares the database; the leader holds a PostgreSQL advisory
lock (bot/storage/postgres/leader.py). A standby opens nothing but that lock's connection
and, if HEALTH_PORT is set, a /healthz that answers 503 "standby" (so that a load balancer
or Kubernetes sends webhooks only to the leader). When it becomes the leader it starts like
a freshly started bot: recovery finishes whatever the last leader left unfinished (each
message answered once: a stored turn is never stored twice, and Telegram re-sends the
updates the dead leader had not confirmed, which are recognised as duplicates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress

from prometheus_client import Gauge

from bot.config import Settings
from bot.observability.health import HealthServer
from bot.observability.logs import get_logger
from bot.storage.postgres.leader import Leadership

log = get_logger(__name__)

LEADER = Gauge(
    "bot_replica_leader", "1 while this replica leads, 0 while it stands by", ["replica"]
)
STANDBY_REASON = "standby: another replica is active"


@asynccontextmanager
async def leading(settings: Settings, stop: asyncio.Event) -> AsyncIterator[bool]:
    """Wait until this process may receive and answer: True at once on SQLite; on PostgreSQL
    once it holds the leader's lock (False: `stop` came first). While it leads, losing the
    lock's session sets `stop`, so the bot shuts down gracefully (to stand by again)."""
    if not settings.service.on_postgres:
        yield True
        return
    replica = settings.database.replica_id
    leadership = Leadership(settings.service.database_url)
    LEADER.labels(replica=replica).set(0)
    started = time.monotonic()
    try:
        if not await leadership.try_acquire():
            log.info("replica_standby", replica_id=replica)
            async with _standby_health(settings):
                if not await leadership.acquire(stop):
                    yield False
                    return
        waited = round(time.monotonic() - started, 2)
        log.info("replica_leading", replica_id=replica, waited_s=waited)
        LEADER.labels(replica=replica).set(1)
        watcher = asyncio.create_task(_stop_when_lost(leadership, stop, replica))
        try:
            yield True
        finally:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher
            LEADER.labels(replica=replica).set(0)
    finally:
        await leadership.release()


async def _stop_when_lost(leadership: Leadership, stop: asyncio.Event, replica: str) -> None:
    await leadership.lost()
    log.error("replica_leadership_lost", replica_id=replica)
    stop.set()


@asynccontextmanager
async def _standby_health(settings: Settings) -> AsyncIterator[None]:
    """/healthz answering 503 "standby" while this replica waits (HEALTH_PORT 0: none)."""
    service = settings.service
    async with AsyncExitStack() as stack:
        if service.health_port:

            async def standby() -> str:
                return STANDBY_REASON

            server = HealthServer(service.health_listen, service.health_port, standby)
            await server.start()
            stack.push_async_callback(server.stop)
        yield
