"""The terminal's log (chat.log) and input history hold what was typed: 0600 in a 0700 folder."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.support.running import API_KEY
from tests.support.terminal import Terminal


class TestTerminalFiles:
    async def test_log_and_history_are_private(self, model: FakeOpenAI, tmp_path: Path) -> None:
        """Under umask 022, a chat creates its folder 0700 and chat.log and chat_history 0600."""
        data = tmp_path / "data"
        env = {
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_MODEL": "gpt-test",
            "DATABASE_URL": f"sqlite:///{data / 'bot.db'}",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        old = os.umask(0o022)
        try:
            term = Terminal(env)
        finally:
            os.umask(old)
        try:
            await term.prompt()
            term.type("remember this")
            await term.wait_for("echo: remember this")
            await term.prompt()
            term.type("/exit")
            assert await term.exit_code() == 0
        finally:
            term.close()
        modes = {p.name: p.stat().st_mode & 0o777 for p in (data, *data.iterdir())}
        assert modes["data"] == 0o700
        for name in ("chat.log", "chat_history", "bot.db", "bot.db.lock"):
            assert modes[name] == 0o600, name
        assert "remember this" in (data / "chat_history").read_text()
