"""Several replicas on one PostgreSQL database: every replica answers; in polling mode one of
them polls.

With SQLite there is one process per file (its lock), so none of this applies. With
PostgreSQL, `python -m bot` started N times shares the database, and each one answers (the
conversations are shared out by leases: bot/telegram/app/dispatch.py). Telegram allows one
getUpdates at a time per bot, so in polling mode only the replica holding a PostgreSQL
advisory lock (bot/storage/postgres/leader.py) polls; it records what it receives for all of
them. When it goes, another replica takes the lock within seconds and polls from where it
stopped (Telegram re-sends what was not confirmed; a re-sent update is recognised). In webhook
mode there is no poller: the load balancer's choice of replica records the update.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress

from prometheus_client import Gauge

from bot.config import Settings
from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.postgres.leader import Leadership

log = get_logger(__name__)

LEADER = Gauge(
    "bot_replica_leader", "1 while this replica polls Telegram, 0 otherwise", ["replica"]
)
RETRY_SECONDS = 5.0  # after polling could not start


def dead_here(holders: Iterable[str]) -> list[str]:
    """The holders named as the default REPLICA_ID names a process of this host (host-pid)
    whose process no longer runs: a replica restarted on the same host may take their
    conversations at once instead of waiting for their leases to expire."""
    prefix = f"{socket.gethostname()}-"
    dead = []
    for holder in holders:
        pid = holder.removeprefix(prefix)
        if holder.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                dead.append(holder)
            except PermissionError:  # alive, another user's
                continue
    return dead


class Poller:
    """Runs `start` (polling) only while this replica holds the poller's lock, `halt` when it
    is lost or `stop` is set; waits for the lock again after losing it."""

    def __init__(self, settings: Settings, *, retry_seconds: float = 1.0) -> None:
        self.replica = settings.database.replica_id
        self._leadership = Leadership(settings.service.database_url, retry_seconds=retry_seconds)
        LEADER.labels(replica=self.replica).set(0)

    async def run(
        self,
        stop: asyncio.Event,
        start: Callable[[], Awaitable[None]],
        halt: Callable[[], Awaitable[None]],
    ) -> None:
        """Poll while leading, until `stop` is set (cancel to end at once)."""
        try:
            while not stop.is_set():
                waiting_since = time.monotonic()
                if not await self._leadership.acquire(stop):
                    return
                waited = round(time.monotonic() - waiting_since, 2)
                log.info("replica_leading", replica_id=self.replica, waited_s=waited)
                LEADER.labels(replica=self.replica).set(1)
                try:
                    await self._poll(stop, start)
                finally:
                    LEADER.labels(replica=self.replica).set(0)
                    await halt()
                    await self._leadership.release()
        finally:
            await self._leadership.release()

    async def _poll(self, stop: asyncio.Event, start: Callable[[], Awaitable[None]]) -> None:
        try:
            await start()
        except Exception:  # Telegram refused: another replica (or this one) tries again
            log.exception("polling_start_failed", replica_id=self.replica)
            with suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS):
                    await stop.wait()
            return
        lost = asyncio.ensure_future(self._leadership.lost())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({lost, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (lost, stopped):
                task.cancel()
                with suppress(asyncio.CancelledError, StorageError):
                    await task
        if lost.done() and not lost.cancelled() and not stop.is_set():
            log.error("replica_leadership_lost", replica_id=self.replica)
