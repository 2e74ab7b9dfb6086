"""MCP_SERVERS_FILE, TOOLS_ENABLED, MAX_TOOL_ROUNDS, TOOL_RESULT_MAX_CHARS: the tools the model
may use, and the servers (Model Context Protocol) that provide them.

The servers file is JSON in the shape most MCP clients share:

    {"mcpServers": {
        "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]},
        "search": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer …"},
                   "allowedTools": ["search"], "adminsOnly": true, "timeoutSeconds": 20}}}

`command`/`args`/`env` start a stdio server; `url`/`headers` reach a streamable HTTP server.
`allowedTools` (default: all of that server's), `adminsOnly` and `timeoutSeconds` are ours.
Reading the file is I/O, so it is checked at start-up (startup.py), not by the validators.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from bot.config.values import Section

MAX_FILE_BYTES = 256 * 1024
SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # it becomes part of a function name
DEFAULT_CALL_TIMEOUT_S = 30.0
_KNOWN_KEYS = frozenset(
    {"command", "args", "env", "url", "headers", "allowedTools", "adminsOnly", "timeoutSeconds"}
)


class ToolSettings(Section):
    """MCP_SERVERS_FILE and the bounds of the tool loop."""

    mcp_servers_file: Path | None = None
    tools_enabled: bool | None = None  # None: on when MCP_SERVERS_FILE is given
    max_tool_rounds: int = Field(default=5, ge=1, le=20)
    tool_result_max_chars: int = Field(default=8000, ge=200, le=200_000)

    @property
    def enabled(self) -> bool:
        """Whether tools are offered at all: a servers file, and TOOLS_ENABLED not false."""
        return self.mcp_servers_file is not None and self.tools_enabled is not False


@dataclass(frozen=True)
class ServerSpec:
    """One configured MCP server: how to reach it and what of it we allow."""

    name: str
    command: str | None = None  # stdio
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None  # streamable HTTP
    headers: dict[str, str] = field(default_factory=dict)
    allowed_tools: frozenset[str] | None = None  # None: every tool of the server
    admins_only: bool = False
    timeout_s: float = DEFAULT_CALL_TIMEOUT_S

    def secrets(self) -> list[str]:
        """Values to keep out of logs: header values and environment values."""
        return [v for v in (*self.headers.values(), *self.env.values()) if len(v) >= 8]


class ServersFileError(Exception):
    """The servers file cannot be used; `problems` says every reason in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_servers(path: Path) -> list[ServerSpec]:
    """The servers of MCP_SERVERS_FILE; ServersFileError lists every problem found."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ServersFileError([f"is larger than {MAX_FILE_BYTES // 1024} KiB"])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServersFileError([f"cannot be read ({exc.strerror})"]) from exc
    except UnicodeDecodeError as exc:
        raise ServersFileError(["is not UTF-8 text"]) from exc
    return parse_servers(text)


def parse_servers(text: str) -> list[ServerSpec]:
    """The servers described by the JSON `text`; ServersFileError lists every problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServersFileError([f"is not valid JSON (line {exc.lineno}: {exc.msg})"]) from exc
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ServersFileError(['needs an object "mcpServers" naming the servers'])
    problems: list[str] = []
    specs = [_server(name, entry, problems) for name, entry in servers.items()]
    if problems:
        raise ServersFileError(problems)
    return [spec for spec in specs if spec is not None]


def _server(name: str, entry: object, problems: list[str]) -> ServerSpec | None:
    where = f"server {name!r}"
    if not SERVER_NAME.match(name):
        problems.append(f"{where}: a name is 1-32 letters, digits, '_' or '-'")
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be an object")
        return None
    found = len(problems)
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    command, url = entry.get("command"), entry.get("url")
    if (command is None) == (url is None):
        problems.append(f'{where}: give either "command" (stdio) or "url" (HTTP)')
    if command is not None and not (isinstance(command, str) and command.strip()):
        problems.append(f'{where}: "command" must be a non-empty string')
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        problems.append(f'{where}: "url" must start with http:// or https://')
    args = _strings(entry.get("args", []), f'{where}: "args"', problems)
    env = _string_map(entry.get("env", {}), f'{where}: "env"', problems)
    headers = _string_map(entry.get("headers", {}), f'{where}: "headers"', problems)
    allowed = entry.get("allowedTools")
    allowed_tools = (
        None
        if allowed is None
        else frozenset(_strings(allowed, f'{where}: "allowedTools"', problems))
    )
    timeout = _timeout(entry.get("timeoutSeconds", DEFAULT_CALL_TIMEOUT_S), where, problems)
    admins_only = entry.get("adminsOnly", False)
    if not isinstance(admins_only, bool):
        problems.append(f'{where}: "adminsOnly" must be true or false')
    if len(problems) > found:
        return None
    return ServerSpec(
        name, command, tuple(args), env, url, headers, allowed_tools, admins_only, timeout
    )


def _strings(value: Any, where: str, problems: list[str]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(f"{where} must be a list of strings")
    return []


def _string_map(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    problems.append(f"{where} must be an object of strings")
    return {}


def _timeout(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 600:
        return float(value)
    problems.append(f'{where}: "timeoutSeconds" must be a number of seconds, 0 < n <= 600')
    return DEFAULT_CALL_TIMEOUT_S
