"""`/healthz` and `/metrics` on a small HTTP server of their own, the same in every mode.

Served with tornado, which python-telegram-bot's webhook server already uses, so the bot needs
no second web framework. `/healthz` answers 200 when the bot is receiving updates and the
database answers, 503 with the reason otherwise; `/metrics` is Prometheus' text format.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from bot.observability.logs import get_logger

log = get_logger(__name__)

DEGRADED = "degraded: "  # a probe's reason that starts so is served with 200
Probe = Callable[[], Awaitable[str | None]]  # None when healthy, else the reason in plain words
ReceivingProblem = Callable[[], str | None]
Ping = Callable[[], Awaitable[object]]  # returns when the database answers, raises otherwise

DB_TIMEOUT_S = 3.0


class Degraded(Exception):  # a state rather than an error: the bot still works
    """Raised by a ping when something optional is down (Redis): /healthz stays 200, with
    status "degraded" and the reason, so that a load balancer keeps the replica in."""


def readiness(receiving: ReceivingProblem, ping: Ping, timeout: float = DB_TIMEOUT_S) -> Probe:
    """Healthy when the channel receives updates and the database answers `ping` within
    `timeout`; any exception from `ping` means unhealthy, never a failed request."""

    async def probe() -> str | None:
        if (problem := receiving()) is not None:
            return problem
        try:
            await asyncio.wait_for(ping(), timeout)
        except Degraded as exc:
            return f"{DEGRADED}{exc}"
        except TimeoutError:
            return f"the database did not answer within {timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any database failure is "unhealthy", not a crash
            return f"the database is unavailable ({type(exc).__name__})"
        return None

    return probe


class _Healthz(RequestHandler):
    def initialize(self, probe: Probe) -> None:
        self.probe = probe

    async def get(self) -> None:
        reason = await self.probe()
        if reason is None:
            self.write({"status": "ok"})
            return
        if reason.startswith(DEGRADED):
            self.write({"status": "degraded", "reason": reason.removeprefix(DEGRADED)})
            return
        log.warning("health_check_failed", reason=reason)
        self.set_status(503)
        self.write({"status": "unavailable", "reason": reason})


class _Metrics(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(generate_latest(REGISTRY))


def _no_access_log(_handler: Any) -> None:
    """Probes hit these endpoints every few seconds; access lines would drown the logs."""


class HealthServer:
    """The HTTP server for `/healthz` and `/metrics`; start() binds, stop() frees the port."""

    def __init__(self, listen: str, port: int, probe: Probe) -> None:
        self.listen = listen
        self.port = port
        app = Application(
            [(r"/healthz", _Healthz, {"probe": probe}), (r"/metrics", _Metrics)],
            log_function=_no_access_log,
        )
        self._server = HTTPServer(app)

    async def start(self) -> None:
        """Listen on HEALTH_LISTEN:HEALTH_PORT; raises OSError when the address is taken."""
        # Bound here rather than by tornado, whose bind_sockets leaks the socket on failure.
        family = socket.AF_INET6 if ":" in self.listen else socket.AF_INET
        sock = socket.create_server((self.listen, self.port), family=family)
        sock.setblocking(False)
        self._server.add_sockets([sock])
        log.info("health_server_started", listen=self.listen, port=self.port)

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
