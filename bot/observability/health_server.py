"""The HTTP server for `/healthz` and `/metrics`, on aiohttp's low-level server.

A module of its own so that aiohttp.web is imported only when HEALTH_PORT is set: health.py
(the probe, `Degraded`) is needed in every mode.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.observability.health import DEGRADED, Probe
from bot.observability.logs import get_logger

log = get_logger(__name__)

SHUTDOWN_TIMEOUT_S = 5.0  # a request being answered at stop() gets this long to finish


def _json(status: int, body: dict[str, str]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


class HealthServer:
    """The HTTP server for `/healthz` and `/metrics`; start() binds, stop() frees the port."""

    def __init__(self, listen: str, port: int, probe: Probe) -> None:
        self.listen = listen
        self.port = port
        self._probe = probe
        self._routes: dict[str, Callable[[], Awaitable[web.Response]]] = {
            "/healthz": self._healthz,
            "/metrics": self._metrics,
        }
        self._runner: web.ServerRunner | None = None

    async def start(self) -> None:
        """Listen on HEALTH_LISTEN:HEALTH_PORT; raises OSError when the address is taken."""
        # Bound here, so that a taken port raises before anything is started, and the socket
        # is closed by create_server itself when binding fails.
        family = socket.AF_INET6 if ":" in self.listen else socket.AF_INET
        sock = socket.create_server((self.listen, self.port), family=family)
        # No access log: probes hit these endpoints every few seconds and would drown the logs.
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("health_server_started", listen=self.listen, port=self.port)

    async def stop(self) -> None:
        """Stop listening (the port is free again) and close the open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        route = self._routes.get(request.path)
        if route is None:
            raise web.HTTPNotFound
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        return await route()

    async def _healthz(self) -> web.Response:
        reason = await self._probe()
        if reason is None:
            return _json(200, {"status": "ok"})
        if reason.startswith(DEGRADED):
            return _json(200, {"status": "degraded", "reason": reason.removeprefix(DEGRADED)})
        log.warning("health_check_failed", reason=reason)
        return _json(503, {"status": "unavailable", "reason": reason})

    async def _metrics(self) -> web.Response:
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
