"""End to end: the terminal chat's /model lists a catalogue's models by provider with their
marks, and a reasoning model's thinking is shown dimmed above the answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_dialects import THOUGHT, FakeDialect
from tests.support.providers import providers
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


class TestCatalogue:
    async def test_model_lists_providers_and_marks(self, model: FakeOpenAI, tmp_path: Path) -> None:
        """/model groups the models under their providers with marks; switching reaches the
        other provider."""
        async with providers(model, tmp_path) as found:
            env = {
                "OPENAI_API_KEY": API_KEY,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "PROMPT_TOOLKIT_NO_CPR": "1",
                **found.env(),
            }
            term = Terminal(env, "--chat", "pick")
            try:
                await term.prompt()
                term.type("/model")
                listed = await term.wait_for("Switch with /model NAME.")
                assert re.search(r"openai\s+✓ gpt-test 👁🛠\s+gpt-other\s+anthropic", listed)
                assert "claude 👁🛠💭" in listed and "local" in listed
                await term.prompt()
                term.type("/model claude")
                await term.wait_for("Model switched to claude")
                await term.prompt()
                term.type("hi")
                await term.wait_for("echo: hi")
                assert found.anthropic.requests[-1].model == "claude-sonnet-4-5"
                await term.prompt()
                term.type("/exit")
                assert await term.exit_code() == 0
            finally:
                term.close()
