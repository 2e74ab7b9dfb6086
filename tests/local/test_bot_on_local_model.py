"""End to end on a real model: the bot, the fake Telegram server, llama.cpp with the bundled GGUF.

Nothing here is scripted: answers are whatever SmolLM2-135M writes, so the tests check their
shape (text arrived, usage counted, history sent), not their words.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.engine.errors import ContextTooLong
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot

pytestmark = pytest.mark.local

BUNDLED_NAME = "SmolLM2-135M-Instruct.Q4_1"
ANSWER_TIMEOUT = 120  # seconds; a real model on 2 shared cores


def usage_rows(database: Path) -> list[tuple[str, str, int, int, int]]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT chat_id, model, prompt_tokens, completion_tokens, estimated FROM usage "
            "ORDER BY id"
        ).fetchall()


class TestBundledModelByDefault:
    async def test_no_openai_settings_means_the_bundled_demo_model(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """With no OpenAI settings the bot serves the bundled model and says it is a demo."""
        [started] = logs.named("local_model_started")
        assert started["model"] == BUNDLED_NAME
        assert started["address"].startswith("http://127.0.0.1:")
        assert started["ctx_size"] == 512
        [demo] = logs.named("demo_model_in_use")
        assert "LOCAL_MODEL" in demo["hint"] and "OPENAI_API_KEY" in demo["hint"]
        assert logs.named("bot_started")[0]["model"] == BUNDLED_NAME

    async def test_shutdown_stops_the_model_server(self, bot: RunningBot, logs: LogCapture) -> None:
        """Stopping the bot stops llama.cpp too (it exits cleanly)."""
        await bot.stop()
        [stopped] = logs.named("local_model_stopped")
        assert stopped["returncode"] == 0


class TestRealConversation:
    async def test_multi_turn_chat_with_usage_and_stats(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Two turns get real streamed answers with history; usage is stored; /stats adds up."""
        bot.telegram.send_private_text(
            PRIVATE, "Hi! My name is Ada. What is the capital of France?"
        )
        first = await answer_in(bot, PRIVATE, 1, timeout=ANSWER_TIMEOUT)
        bot.telegram.send_private_text(PRIVATE, "What is my name?")
        second = await answer_in(bot, PRIVATE, 2, timeout=ANSWER_TIMEOUT)
        assert first.strip() and second.strip()

        finished = await logs.wait_for("reply_finished", count=2)
        assert [e["outcome"] for e in finished] == ["answered", "answered"]
        assert all(e["model"] == BUNDLED_NAME for e in finished)
        assert all(e["ttft_ms"] is not None for e in finished)  # it streamed
        assert all(e["usage_estimated"] is False for e in finished)  # llama.cpp sent usage
        one, two = finished
        # The second request carried the first question and answer.
        assert two["prompt_tokens"] > one["prompt_tokens"] + one["completion_tokens"]

        rows = usage_rows(bot.settings.service.database_path)
        assert rows == [
            (f"tg:{PRIVATE}", BUNDLED_NAME, e["prompt_tokens"], e["completion_tokens"], 0)
            for e in finished
        ]

        bot.telegram.send_private_text(PRIVATE, "/stats")
        stats = await answer_in(bot, PRIVATE, 3)
        prompt = one["prompt_tokens"] + two["prompt_tokens"]
        completion = one["completion_tokens"] + two["completion_tokens"]
        assert "Requests: 2" in stats
        assert f"Tokens: {prompt:,} prompt · {completion:,} completion" in stats
        assert f"Model: {BUNDLED_NAME}" in stats

    async def test_prompt_over_the_context_gets_the_overflow_handling(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A message longer than the model's context: trimmed harder, then asked to /clear."""
        bot.telegram.send_private_text(PRIVATE, "hello " * 660)  # ~660 tokens, slots hold 512
        assert await answer_in(bot, PRIVATE, 1, timeout=ANSWER_TIMEOUT) == (
            ContextTooLong.user_message
        )
        [failed] = await logs.wait_for("reply_finished")
        assert (failed["outcome"], failed["error_type"]) == ("failed", "context_length")
        assert logs.named("context_trimmed_harder")
        bot.telegram.send_private_text(PRIVATE, "Say hi.")
        assert (await answer_in(bot, PRIVATE, 2, timeout=ANSWER_TIMEOUT)).strip()
        finished = await logs.wait_for("reply_finished", count=2)  # logged after the send
        assert finished[-1]["outcome"] == "answered"
