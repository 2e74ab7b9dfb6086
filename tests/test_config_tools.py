"""MCP_SERVERS_FILE and the tool settings: parsed, checked at start-up, every problem reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import ConfigError, ToolSettings, read_servers
from bot.config.tools import ServersFileError, parse_servers
from bot.startup import load_checked_settings


class TestServersFile:
    def test_stdio_and_http_servers_with_our_options(self) -> None:
        """The common mcpServers shape, plus allowedTools, adminsOnly and timeoutSeconds."""
        text = json.dumps(
            {
                "mcpServers": {
                    "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]},
                    "web": {
                        "url": "https://example.org/mcp",
                        "headers": {"Authorization": "Bearer secret-token-1"},
                        "allowedTools": ["search"],
                        "adminsOnly": True,
                        "timeoutSeconds": 12,
                    },
                }
            }
        )
        time, web = parse_servers(text)
        assert (time.command, time.args, time.url) == (
            "mcp-server-time",
            ("--local-timezone", "UTC"),
            None,
        )
        assert (web.url, web.allowed_tools, web.admins_only, web.timeout_s) == (
            "https://example.org/mcp",
            frozenset({"search"}),
            True,
            12.0,
        )
        assert web.secrets() == ["Bearer secret-token-1"]

    def test_every_problem_is_reported(self) -> None:
        """Each bad server says what is wrong with it, all at once."""
        text = json.dumps(
            {
                "mcpServers": {
                    "bad name!": {"command": "x"},
                    "both": {"command": "x", "url": "https://a"},
                    "neither": {"args": []},
                    "opts": {"command": "x", "timeoutSeconds": -1, "adminsOnly": "yes", "extra": 1},
                }
            }
        )
        with pytest.raises(ServersFileError) as caught:
            parse_servers(text)
        found = " | ".join(caught.value.problems)
        for expected in (
            "bad name!",
            "'both'",
            "'neither'",
            "timeoutSeconds",
            "adminsOnly",
            "extra",
        ):
            assert expected in found

    @pytest.mark.parametrize("text", ["not json", "[]", '{"servers": {}}'])
    def test_not_a_servers_file(self, text: str) -> None:
        """Invalid JSON or a missing mcpServers object is refused."""
        with pytest.raises(ServersFileError):
            parse_servers(text)


class TestSettings:
    def test_tools_are_on_when_a_file_is_given(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """TOOLS_ENABLED defaults to true with a file, and false turns them off."""
        monkeypatch.setenv("MCP_SERVERS_FILE", "servers.json")
        assert ToolSettings().enabled
        monkeypatch.setenv("TOOLS_ENABLED", "false")
        assert not ToolSettings().enabled
        monkeypatch.delenv("MCP_SERVERS_FILE")
        monkeypatch.delenv("TOOLS_ENABLED")
        assert not ToolSettings().enabled

    def test_a_broken_file_stops_start_up(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A bad servers file is a configuration error naming MCP_SERVERS_FILE, with the rest."""
        path = tmp_path / "servers.json"
        path.write_text('{"mcpServers": {"x": {}}}', encoding="utf-8")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("MCP_SERVERS_FILE", str(path))
        monkeypatch.setenv("MAX_TOOL_ROUNDS", "0")
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        problems = caught.value.problems
        assert any(p.startswith("MCP_SERVERS_FILE: server 'x'") for p in problems)
        assert any(p.startswith("MAX_TOOL_ROUNDS") for p in problems)

    def test_a_missing_file_is_reported(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A file that cannot be read is reported in plain words."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("MCP_SERVERS_FILE", str(tmp_path / "absent.json"))
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        assert caught.value.problems == [
            "MCP_SERVERS_FILE: cannot be read (No such file or directory)"
        ]


class TestExampleFile:
    def test_the_shipped_example_is_valid(self) -> None:
        """mcp_servers.example.json names mcp-server-time and mcp-server-fetch, and parses."""
        root = Path(__file__).resolve().parents[1]
        servers = read_servers(root / "mcp_servers.example.json")
        assert [(s.name, s.command) for s in servers] == [
            ("time", "mcp-server-time"),
            ("fetch", "mcp-server-fetch"),
        ]
