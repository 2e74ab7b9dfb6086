"""A small aiohttp server base: free port on 127.0.0.1, started and stopped in the running loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Self

from aiohttp import web

# Short, because every handler that waits also wakes up when the server stops.
SHUTDOWN_TIMEOUT_S = 1.0


def unused_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeServer:
    """Base of the fakes: an aiohttp app served on 127.0.0.1:<free port> inside the current loop."""

    def __init__(self) -> None:
        # Uploads and long prompts may exceed aiohttp's 1 MiB default body limit.
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._closed = asyncio.Event()
        self._change = asyncio.Event()

    @property
    def origin(self) -> str:
        """The server's http://127.0.0.1:PORT origin (valid after start)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Bind a free port and start serving; one start per instance."""
        if self._runner is not None or self._closed.is_set():
            raise RuntimeError("a fake server can be started only once")
        runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        """Wake every waiting handler, close all connections and release the port."""
        self._closed.set()
        self._notify()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def stopping(self) -> bool:
        """True once stop() was called."""
        return self._closed.is_set()

    def _notify(self) -> None:
        """Wake everyone waiting in _wait_until (state changed)."""
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def _wait_until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait for predicate(), `within` seconds or the server to stop; return predicate()."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate() and not self.stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._wait_or_stop(self._change.wait(), remaining)
        return predicate()

    async def _wait_or_stop(self, awaitable: Awaitable[Any], within: float | None = None) -> bool:
        """Await awaitable; False if the server stopped or `within` seconds passed first."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._closed.wait())
        try:
            done, _ = await asyncio.wait(
                {task, stopper}, timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for pending in (task, stopper):
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pending
        return task in done and not self.stopping

    async def _sleep(self, seconds: float) -> bool:
        """Sleep; False if the server stopped meanwhile."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), seconds)
        return not self.stopping


def drop_connection(request: web.BaseRequest) -> web.Response:
    """Close the client's connection without an answer (the returned response is never sent)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)
