"""The tools of every configured MCP server, for the engine: which to offer in a turn, calling
one by its function name (logged and counted), starting and closing the servers.

A server that fails to start is logged and left out; its task keeps trying with backoff, and
its tools appear once it connects. Nothing here raises for a tool's failure: every call ends
in a `ToolResult` whose text the model reads (as data, see loop.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from bot.config import ServerSpec
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.tools.catalog import Outcome, Tool, ToolResult
from bot.engine.tools.server import BACKOFF_S, CONNECT_TIMEOUT_S, PING_INTERVAL_S, McpServer
from bot.observability.logs import get_logger

log = get_logger(__name__)

MAX_ARGUMENT_CHARS = 20_000  # a model's arguments bigger than this are refused unread


class ToolBox:
    """The configured servers and their tools."""

    def __init__(
        self,
        specs: Sequence[ServerSpec],
        *,
        events: EngineEvents = NO_EVENTS,
        backoff_s: float = BACKOFF_S,
        ping_s: float = PING_INTERVAL_S,
    ) -> None:
        self.servers = [McpServer(spec, backoff_s=backoff_s, ping_s=ping_s) for spec in specs]
        self._events = events

    async def start(self, wait_s: float = CONNECT_TIMEOUT_S) -> None:
        """Start every server at once; those that fail are logged (the bot runs without them)."""
        started = await asyncio.gather(*(s.start(wait_s) for s in self.servers))
        for server, ok in zip(self.servers, started, strict=True):
            if not ok:
                log.error("mcp_server_unavailable", server=server.name)
        log.info(
            "tools_ready",
            servers=sum(started),
            unavailable=len(started) - sum(started),
            tools=len(self.tools(admin=True)),
        )

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.servers))

    def tools(self, *, admin: bool) -> list[Tool]:
        """The tools on offer now (connected servers only); admins-only ones for admins."""
        return [
            tool
            for server in self.servers
            if server.connected
            for tool in server.tools
            if admin or not tool.admins_only
        ]

    def by_server(self, *, admin: bool) -> dict[str, list[Tool] | None]:
        """Every configured server (None: not available now) and its tools, for /tools."""
        shown: dict[str, list[Tool] | None] = {}
        for server in self.servers:
            if server.spec.admins_only and not admin:
                continue
            shown[server.name] = list(server.tools) if server.connected else None
        return shown

    async def call(self, function: str, arguments: str, *, admin: bool) -> ToolResult:
        """Call the tool the model named with the JSON arguments it wrote."""
        started = time.monotonic()
        tool = next((t for t in self.tools(admin=admin) if t.function_name == function), None)
        if tool is None:
            result = _refused(Outcome.UNKNOWN_TOOL, f"There is no tool named {function!r}.")
        else:
            parsed = _arguments(arguments)
            if isinstance(parsed, ToolResult):
                result = parsed
            else:
                server = next(s for s in self.servers if s.name == tool.server)
                try:
                    result = await server.call(tool.name, parsed)
                except asyncio.CancelledError:
                    stopped = _refused(Outcome.CANCELLED, "")
                    self._report(
                        function, tool, stopped, len(arguments), time.monotonic() - started
                    )
                    raise
        duration = time.monotonic() - started
        self._report(function, tool, result, len(arguments), duration)
        return result

    def _report(
        self, function: str, tool: Tool | None, result: ToolResult, sent: int, duration: float
    ) -> None:
        name = function if tool is None else f"{tool.server}:{tool.name}"
        log.info(
            "tool_called",
            tool=name[:100],
            outcome=result.outcome.value,
            duration_ms=round(duration * 1000, 1),
            arguments_chars=sent,
            result_chars=result.chars,
        )
        self._events.tool_called(
            tool=name if tool is not None else "unknown",
            outcome=result.outcome.value,
            duration_s=duration,
        )


def _refused(outcome: Outcome, text: str) -> ToolResult:
    return ToolResult(text, outcome, len(text))


def _arguments(raw: str) -> dict[str, Any] | ToolResult:
    """The model's arguments as an object, or the reason they cannot be used."""
    if len(raw) > MAX_ARGUMENT_CHARS:
        return _refused(Outcome.INVALID_ARGUMENTS, "The arguments are too long.")
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        return _refused(Outcome.INVALID_ARGUMENTS, f"The arguments are not valid JSON: {exc.msg}.")
    if not isinstance(parsed, dict):
        return _refused(Outcome.INVALID_ARGUMENTS, "The arguments must be a JSON object.")
    return parsed
