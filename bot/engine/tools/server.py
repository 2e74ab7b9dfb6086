"""One MCP server, kept connected: started (stdio) or reached (streamable HTTP), its tools
listed, restarted with backoff when it crashes, closed on shutdown.

The SDK's transports are anyio task groups that must be entered and left in the same task, so
each server lives in a task of its own (`_supervise`); calls from any turn go through the
session it holds. A crash shows as a call failing with "Connection closed" or a failed ping
(every PING_INTERVAL_S): the task then leaves the connection and opens a new one after a
backoff (doubling from BACKOFF_S up to BACKOFF_MAX_S). The `mcp` SDK is imported here only,
when a server is started (it costs ~0.5 s of import time).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from bot.config import ServerSpec
from bot.engine.tools.catalog import Outcome, Tool, ToolResult
from bot.observability.logs import get_logger

if TYPE_CHECKING:
    from bot.engine.tools.sdk import ClientSession

log = get_logger(__name__)

BACKOFF_S = 0.5
BACKOFF_MAX_S = 30.0
PING_INTERVAL_S = 10.0
CONNECT_TIMEOUT_S = 20.0
CONNECTION_CLOSED = -32000  # mcp_types.CONNECTION_CLOSED
REQUEST_TIMEOUT = -32001  # mcp_types.REQUEST_TIMEOUT


class McpServer:
    """A configured server and its session; see the module docstring."""

    def __init__(
        self, spec: ServerSpec, *, backoff_s: float = BACKOFF_S, ping_s: float = PING_INTERVAL_S
    ) -> None:
        self.spec = spec
        self._ping_s = ping_s
        self.tools: tuple[Tool, ...] = ()
        self.restarts = 0
        self._backoff_s = backoff_s
        self._session: ClientSession | None = None
        self._connected = asyncio.Event()  # set while a session is usable
        self._first_try = asyncio.Event()  # the first connection attempt is over
        self._lost = asyncio.Event()  # the session is dead: reconnect
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, wait_s: float = CONNECT_TIMEOUT_S) -> bool:
        """Start the supervising task and wait for the first attempt; whether it connected
        (if not, the task keeps trying with backoff)."""
        self._task = asyncio.create_task(self._supervise(), name=f"mcp-{self.name}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await self._first_try.wait()
        return self.connected

    async def close(self) -> None:
        """Leave the session and stop (a stdio server's process is ended)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolResult:
        """Call `tool`; never raises for the server's failures (they are outcomes)."""
        session = self._session
        if session is None or not self.connected:
            return _failed(Outcome.UNAVAILABLE, f"The tool server {self.name!r} is not available.")
        from bot.engine.tools.sdk import MCPError  # noqa: PLC0415 - imported by now

        try:
            result = await session.call_tool(
                tool, arguments, read_timeout_seconds=self.spec.timeout_s
            )
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                return _failed(
                    Outcome.TIMEOUT, f"The tool did not answer in {self.spec.timeout_s:g} s."
                )
            if exc.code == CONNECTION_CLOSED:
                self._lose()
                return _failed(Outcome.UNAVAILABLE, "The tool server stopped during the call.")
            return _failed(Outcome.ERROR, f"The tool failed: {exc.error.message}")
        text = _text(result.content)
        return ToolResult(text, Outcome.ERROR if result.is_error else Outcome.OK, len(text))

    def _lose(self) -> None:
        if self.connected:
            self._connected.clear()
            self._lost.set()

    async def _supervise(self) -> None:
        from bot.engine.tools import sdk  # noqa: PLC0415 - the SDK only when a server starts

        delay = self._backoff_s
        while True:
            try:
                async with sdk.open_session(self.spec) as session:
                    await self._serve(session)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any server failure: logged, retried
                log.warning(
                    "mcp_server_failed",
                    server=self.name,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
            finally:
                self._session = None
                self._connected.clear()
                self._first_try.set()
            if self.tools:  # it had worked: the next connection counts as a restart
                self.restarts += 1
                delay = self._backoff_s
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _serve(self, session: ClientSession) -> None:
        """Initialise, list the tools, then hold the session until it is lost."""
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await session.initialize()
            listed = await session.list_tools()
        self.tools = tuple(self._allowed(listed.tools))
        self._session, self._lost = session, asyncio.Event()
        self._connected.set()
        self._first_try.set()
        log.info("mcp_server_ready", server=self.name, tools=len(self.tools))
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ping_s):
                    await self._lost.wait()
            if self._lost.is_set():
                log.warning("mcp_server_lost", server=self.name)
                return
            try:
                await session.send_ping()
            except Exception:  # noqa: BLE001 - a failed ping means the connection is gone
                log.warning("mcp_server_lost", server=self.name)
                return

    def _allowed(self, listed: list[Any]) -> list[Tool]:
        allowed = self.spec.allowed_tools
        return [
            Tool(
                self.name,
                t.name,
                t.description or "",
                dict(t.input_schema or {}),
                admins_only=self.spec.admins_only,
            )
            for t in listed
            if allowed is None or t.name in allowed
        ]


def _failed(outcome: Outcome, text: str) -> ToolResult:
    return ToolResult(text, outcome, len(text))


def _text(content: list[Any]) -> str:
    """The text parts of a result (images and other kinds are named, not passed on)."""
    parts = []
    for item in content:
        text = getattr(item, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(item, 'type', 'content')}]")
    return "\n".join(parts)
