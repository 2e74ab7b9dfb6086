"""MCP servers for the specs: the test server (tests/support/mcp_server.py) over stdio or
streamable HTTP, the real mcp-server-time, and servers files naming them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.config import ServerSpec
from tests.fakes._server import unused_port

TEST_SERVER = ["-m", "tests.support.mcp_server"]
ROOT = Path(__file__).resolve().parents[2]  # the test server is run as a module of the checkout


def stdio_spec(name: str = "test", **options: Any) -> ServerSpec:
    """The test server over stdio."""
    return ServerSpec(
        name, sys.executable, (*TEST_SERVER, "stdio"), {"PYTHONPATH": str(ROOT)}, **options
    )


def time_spec(name: str = "time") -> ServerSpec:
    """The real mcp-server-time, in UTC."""
    return ServerSpec(name, sys.executable, ("-m", "mcp_server_time", "--local-timezone", "UTC"))


def servers_file(path: Path, specs: dict[str, dict[str, Any]]) -> Path:
    """Write an MCP_SERVERS_FILE naming `specs` (entries of the mcpServers object)."""
    path.write_text(json.dumps({"mcpServers": specs}), encoding="utf-8")
    return path


def stdio_entry(**options: Any) -> dict[str, Any]:
    """A servers-file entry for the test server over stdio."""
    return {
        "command": sys.executable,
        "args": [*TEST_SERVER, "stdio"],
        "env": {"PYTHONPATH": str(ROOT)},
        **options,
    }


def time_entry() -> dict[str, Any]:
    """A servers-file entry for the real mcp-server-time."""
    return {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[str]:
    """The test server over streamable HTTP on 127.0.0.1 (a free port): its URL."""
    port = unused_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *TEST_SERVER,
        "http",
        str(port),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(1000):
            if _listening(port):
                break
            assert process.returncode is None, "the test MCP server exited"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        await process.wait()
