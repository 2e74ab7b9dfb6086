"""A test MCP server built with the official SDK (MCPServer, once FastMCP): tools that echo,
fail, sleep, return a huge result, crash the server, and tell its pid.

    python -m tests.support.mcp_server stdio
    python -m tests.support.mcp_server http PORT    # streamable HTTP on 127.0.0.1:PORT/mcp

It stops by itself when its parent process goes away (a test that died leaves nothing behind).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

from mcp.server.mcpserver import MCPServer

HUGE_CHARS = 100_000

server = MCPServer("testtools")


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Echo the text back, `times` times."""
    return " ".join([text] * times)


@server.tool()
def fail(reason: str = "broken on purpose") -> str:
    """Always fails."""
    raise RuntimeError(reason)


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep, then say so."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def huge() -> str:
    """A very large result."""
    return "x" * HUGE_CHARS


@server.tool()
def crash() -> str:
    """Kill the server process mid-call."""
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def secret_admin_tool() -> str:
    """Only admins may use this."""
    return "admin secret"


def _exit_with_parent() -> None:
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if sys.argv[1:2] == ["http"]:
        port = int(sys.argv[2])
        asyncio.run(server.run_streamable_http_async(host="127.0.0.1", port=port))
    else:
        server.run()


if __name__ == "__main__":
    main()
