"""The terminal chat on the real bundled model: what `make chat` opens on a fresh clone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.engine.models.local_model import GGUF_MAGIC
from tests.support.local_model import LOCAL_ENV
from tests.support.terminal import Terminal, log_events

pytestmark = pytest.mark.local


class TestTerminalOnBundledModel:
    async def test_chat_with_no_accounts_at_all(self, tmp_path: Path) -> None:
        """No token, no key: the chat starts the demo model, answers, counts tokens, exits."""
        env = {
            **LOCAL_ENV,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        term = Terminal(env)
        try:
            greeting = await term.wait_for("you › ", timeout=120)
            assert "model SmolLM2-135M-Instruct.Q4_1" in greeting
            assert "tiny demo model" in re.sub(r"\s+", " ", greeting)
            term.type("What is the capital of France?")
            await term.wait_for("tokens", timeout=120)
            await term.wait_for("you › ")
            term.type("/stats")
            stats = await term.wait_for("completion")
            found = re.search(r"Tokens\s+([\d,]+) prompt · ([\d,]+) completion", stats)
            assert found and int(found[1].replace(",", "")) > 0 and int(found[2]) > 0
            await term.wait_for("you › ")
            term.type("/exit")
            assert await term.exit_code(timeout=60) == 0
        finally:
            term.close()
        [answered] = log_events(tmp_path / "chat.log", "reply_finished")
        assert answered["outcome"] == "answered"
        assert answered["usage_estimated"] is False
        assert log_events(tmp_path / "chat.log", "local_model_stopped")


class TestStartupFailure:
    async def test_a_model_llama_cpp_cannot_load_stops_start_up(self, tmp_path: Path) -> None:
        """A GGUF file llama.cpp cannot load: one plain line, exit code 1, nothing left running."""
        broken = tmp_path / "broken.gguf"
        broken.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00" + bytes(64))
        env = {"LOCAL_MODEL": str(broken), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
        term = Terminal(env)
        try:
            await term.wait_for("Could not start: llama.cpp could not load", timeout=60)
            assert await term.exit_code() == 1
        finally:
            term.close()
        assert "Traceback" not in term.screen
        [failed] = log_events(tmp_path / "chat.log", "startup_failed")
        assert "error loading model" in failed["reason"]
