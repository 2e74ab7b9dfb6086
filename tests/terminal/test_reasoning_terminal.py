"""End to end: the terminal chat shows a reasoning model's thinking dimmed, above the answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_dialects import THOUGHT, FakeDialect
from tests.support.running import API_KEY
from tests.support.terminal import Terminal

DIM = "\x1b[2m"


@pytest.fixture
def terminal(model: FakeOpenAI, tmp_path: Path) -> Iterator[Terminal]:
    env = {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    term = Terminal(env, "--chat", "think")
    yield term
    term.close()


class TestThinking:
    async def test_thinking_dimmed_then_the_answer(
        self, terminal: Terminal, model: FakeOpenAI
    ) -> None:
        """The thinking is printed dimmed with 💭, the answer after it, as Markdown."""
        model.dialect = FakeDialect(reasoning="reasoning_content")
        await terminal.prompt()
        terminal.type("why?")
        shown = await terminal.wait_for("echo: why?")
        assert f"💭 {THOUGHT}" in shown
        assert re.search(re.escape(DIM) + r"(\x1b\[[0-9;]*m)*💭", terminal.raw)
        await terminal.prompt()
        terminal.type("/exit")
        assert await terminal.exit_code() == 0
