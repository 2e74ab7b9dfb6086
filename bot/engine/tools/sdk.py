"""The `mcp` SDK, behind one door: opening a session to a configured server.

Imported only when a server is started (server.py imports this module lazily): the SDK and
what it brings (starlette, uvicorn, jsonschema, opentelemetry) cost ~0.5 s of import time and
memory that a bot without MCP_SERVERS_FILE should not pay.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from bot.config import ServerSpec

__all__ = ["ClientSession", "MCPError", "open_session"]

HTTP_SLACK_S = 5.0  # the HTTP client waits a little longer than a call may take


@contextlib.asynccontextmanager
async def open_session(spec: ServerSpec) -> AsyncIterator[ClientSession]:
    """A session with the server (its process started, for stdio), not yet initialised."""
    if spec.url is not None:
        client = httpx2.AsyncClient(headers=spec.headers, timeout=spec.timeout_s + HTTP_SLACK_S)
        async with (
            client,
            streamable_http_client(spec.url, http_client=client) as (read, write),
            ClientSession(read, write) as session,
        ):
            yield session
        return
    assert spec.command is not None
    params = StdioServerParameters(command=spec.command, args=list(spec.args), env=spec.env)
    # The server's own stderr (its logs, in its own format) is not ours to print.
    with open(os.devnull, "w") as errlog:  # noqa: PTH123, ASYNC230 - /dev/null never blocks
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            yield session
