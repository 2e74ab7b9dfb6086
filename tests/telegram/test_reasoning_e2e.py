"""End to end: a reasoning model's thinking shown while it streams as a collapsed block headed
"💭 Thinking…", then the answer; never stored, never sent back, never split with the answer."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.telegram.format.render import render
from bot.telegram.reply.reasoning import HEADER
from tests.fakes.openai import Reply
from tests.fakes.openai_dialects import THOUGHT, FakeDialect
from tests.support.chats import GROUP, PRIVATE, answer_in, say
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import until


def stored_answers(bot: RunningBot) -> list[str]:
    path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT answer FROM turns ORDER BY id")]


def types(entities: list[dict[str, Any]]) -> set[str]:
    return {e["type"] for e in entities}


class TestShown:
    @pytest.mark.parametrize("kind", ["reasoning_content", "reasoning", "think"])
    async def test_collapsed_block_then_the_answer(
        self, bot: RunningBot, logs: LogCapture, kind: str
    ) -> None:
        """The thinking streams into a collapsed quote of its own, the answer after it; the
        stored answer, and what the model gets back next turn, hold no thinking."""
        bot.model.dialect = FakeDialect(reasoning=kind)  # type: ignore[arg-type]
        bot.model.words_per_chunk = 1
        assert await say(bot, "hello", 2) == "echo: hello"
        block = bot.telegram.messages(PRIVATE)[0]
        assert block.text == f"{HEADER}\n{THOUGHT}"
        quote = next(e for e in block.entities if e["type"] == "expandable_blockquote")
        assert (quote["offset"], quote["length"]) == (0, len(block.text) + 1)  # 💭: 2 units
        await logs.wait_for("reply_finished")
        assert stored_answers(bot) == ["echo: hello"]
        await say(bot, "again", 4)
        sent = [m["content"] for m in bot.model.requests[-1].messages if m["role"] == "assistant"]
        assert sent == ["echo: hello"]

    async def test_shown_before_the_answer_is_written(self, bot: RunningBot) -> None:
        """The block is on screen while the model still holds back its answer."""
        hold = asyncio.Event()
        bot.model.dialect = FakeDialect(reasoning="reasoning_content")
        bot.model.script(Reply("echo: the answer", chunks=3, hold=hold, hold_after=1))
        bot.telegram.send_private_text(PRIVATE, "think first")
        await until(
            lambda: any(HEADER in m.text for m in bot.telegram.messages(PRIVATE)), "no block"
        )
        assert len(bot.telegram.messages(PRIVATE)) == 1  # the answer is not complete yet
        hold.set()
        assert await answer_in(bot, PRIVATE, 2) == "echo: the answer"

    async def test_in_a_group_by_edits(self, bot: RunningBot) -> None:
        """Where drafts are not used (groups), the block is a message edited as it grows."""
        bot.model.dialect = FakeDialect(reasoning="reasoning_content")
        bot.telegram.send_group_text(GROUP, "@test_llm_bot explain", user_id=7, first_name="Al")
        assert await answer_in(bot, GROUP, 2) == "echo: Al: explain"
        block = bot.telegram.messages(GROUP)[0]
        assert block.text.startswith(HEADER)
        assert types(block.entities) == {"expandable_blockquote", "bold"}

    async def test_not_counted_when_splitting(self, bot: RunningBot) -> None:
        """A long answer is split into the same parts as without thinking, the block in front."""
        long = "word " * 1500
        bot.model.dialect = FakeDialect(reasoning="reasoning")
        bot.model.script(Reply(long, chunks=4))
        parts = render(long.strip())
        await say(bot, "long please", 1 + len(parts))
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert texts[0].startswith(HEADER)
        assert texts[1:] == [p.text for p in parts]

    async def test_a_model_without_thinking_is_unchanged(self, bot: RunningBot) -> None:
        """No thinking: no block, the answer as before."""
        bot.model.dialect = FakeDialect(reasoning="reasoning", reasoning_models=frozenset({"x"}))
        assert await say(bot, "plain", 1) == "echo: plain"
        assert len(bot.telegram.messages(PRIVATE)) == 1


class TestHidden:
    ENV: ClassVar[dict[str, str]] = {"SHOW_REASONING": "false"}

    async def test_no_block_when_turned_off(self, bot: RunningBot, logs: LogCapture) -> None:
        """SHOW_REASONING=false: only the answer is shown (and stored)."""
        bot.model.dialect = FakeDialect(reasoning="reasoning_content")
        assert await say(bot, "hello", 1) == "echo: hello"
        await logs.wait_for("reply_finished")
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: hello"]
        assert not any(HEADER in draft for draft in bot.telegram.drafts(PRIVATE))
        assert stored_answers(bot) == ["echo: hello"]
