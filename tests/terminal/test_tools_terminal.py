"""End to end: the terminal chat uses the same MCP tools as Telegram and shows the calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI, Reply
from tests.fakes.openai_tools import Call, ToolCalls, tool_messages
from tests.support.mcp import servers_file, stdio_entry
from tests.support.running import API_KEY
from tests.support.terminal import Terminal


@pytest.fixture
def terminal(model: FakeOpenAI, tmp_path: Path) -> Iterator[Terminal]:
    """`python -m bot chat` with the test MCP server and a model that calls tools."""
    path = servers_file(tmp_path / "mcp.json", {"test": stdio_entry()})
    env = {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "TOOL_MODELS": "gpt-test",
        "MCP_SERVERS_FILE": str(path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    opened = Terminal(env, "--chat", "tools")
    yield opened
    opened.close()


class TestToolsInTheTerminal:
    async def test_calls_are_shown_and_tools_listed(
        self, terminal: Terminal, model: FakeOpenAI
    ) -> None:
        """A tool call shows its line above the answer; /tools lists the server's tools."""
        model.script(ToolCalls([Call("test__echo", {"text": "from the terminal"})]), Reply("Done."))
        await terminal.prompt()
        terminal.type("use a tool")
        await terminal.wait_for("🔧 test: echo")
        await terminal.wait_for("Done.")
        [result] = tool_messages(model.requests[1])
        assert str(result["content"]).endswith("from the terminal")
        await terminal.prompt()
        terminal.type("/tools")
        await terminal.wait_for("• echo – Echo the text back")
        await terminal.prompt()
        terminal.type("/exit")
        assert await terminal.exit_code() == 0
