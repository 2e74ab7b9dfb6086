"""End to end: the rolling summary and the calibrated token estimates, over the fake servers."""

from __future__ import annotations

import asyncio
import json
from math import ceil
from typing import Any

import pytest

from bot.engine.conversation.context import SUMMARY_ACK, SUMMARY_PREFIX
from bot.engine.conversation.folding import INSTRUCTIONS
from tests.fakes._oai_payloads import echo_reply
from tests.fakes.openai import Block, ChatRequest, Error, Hang, Reply
from tests.support.chats import PRIVATE, exported, say, user_messages
from tests.support.database import db_rows
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for

SUMMARY = "The user is Ada; she likes tea."
# Two turns fit a request (5 messages: 2 turns and the new message); folds take 2 turns.
SMALL_WINDOW = {"SUMMARY_ENABLED": "true", "MAX_HISTORY_MESSAGES": "5", "SUMMARY_MIN_TURNS": "2"}


def is_summary_request(request: ChatRequest) -> bool:
    return str(request.messages[0]["content"]).startswith(INSTRUCTIONS[:40])


def answer(messages: list[dict[str, Any]]) -> str:
    """The fake model: a fixed summary for summary requests, else the usual echo."""
    return (
        SUMMARY
        if str(messages[0]["content"]).startswith(INSTRUCTIONS[:40])
        else echo_reply(messages)
    )


@pytest.fixture
async def summarising(bot: RunningBot) -> RunningBot:
    bot.model.reply_with(answer)
    await bot.restart(**SMALL_WINDOW)
    return bot


async def three_turns(bot: RunningBot) -> None:
    for n, text in enumerate(["My name is Ada", "I like tea", "What's new?"]):
        await say(bot, text, n + 1)


class TestSummaryIsMade:
    async def test_after_overflow_and_sent_next(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """Turns that fall out are folded into a summary, sent after the system prompt."""
        bot = summarising
        await three_turns(bot)
        [saved] = await logs.wait_for("summary_saved")
        assert saved["turns"] == 2
        [request] = [r for r in bot.model.requests if is_summary_request(r)]
        folded = str(request.messages[1]["content"])
        assert "User: My name is Ada\nAssistant: echo: My name is Ada" in folded
        assert "User: I like tea" in folded and "What's new?" not in folded
        await say(bot, "Who am I?", 4)
        messages = bot.model.requests[-1].messages
        assert messages[0]["role"] == "system" and not is_summary_request(bot.model.requests[-1])
        assert messages[1] == {"role": "user", "content": SUMMARY_PREFIX + SUMMARY}
        assert messages[2] == {"role": "assistant", "content": SUMMARY_ACK}
        assert user_messages(messages)[1:] == ["What's new?", "Who am I?"]

    async def test_no_summary_while_history_fits(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """Two turns fit the window: no summary call is made."""
        bot = summarising
        await say(bot, "one", 1)
        await say(bot, "two", 2)
        await quiet_for(bot)
        assert not any(is_summary_request(r) for r in bot.model.requests)
        assert logs.named("summary_started") == []

    async def test_summary_model_and_usage(self, summarising: RunningBot, logs: LogCapture) -> None:
        """SUMMARY_MODEL makes the summary; its usage counts in /stats, and /export has it."""
        bot = summarising
        await bot.restart(SUMMARY_MODEL="cheap-model")
        await three_turns(bot)
        await logs.wait_for("summary_saved")
        [request] = [r for r in bot.model.requests if is_summary_request(r)]
        assert request.model == "cheap-model"
        assert "Requests: 4" in await say(bot, "/stats", 4)
        await say(bot, "/export json", 5)
        data = json.loads(exported(bot, 4).content)
        assert data["summary"]["text"] == SUMMARY
        stored = db_rows(bot, "SELECT covers_to FROM chat_summaries")
        assert stored == [(data["turns"][1]["id"],)]

    async def test_disabled_sends_no_summary(self, bot: RunningBot, logs: LogCapture) -> None:
        """With SUMMARY_ENABLED=false turns simply fall out, and no summary call is made."""
        await bot.restart(**{**SMALL_WINDOW, "SUMMARY_ENABLED": "false"})
        await three_turns(bot)
        await say(bot, "more", 4)
        await quiet_for(bot)
        assert not any(is_summary_request(r) for r in bot.model.requests)
        assert user_messages(bot.model.requests[-1].messages) == [
            "I like tea",
            "What's new?",
            "more",
        ]


class TestSummaryNeverHurtsReplies:
    async def test_slow_summary_does_not_delay_the_answer(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """While the summary call hangs, the next message is answered anyway."""
        bot = summarising
        release = asyncio.Event()
        await say(bot, "My name is Ada", 1)
        await say(bot, "I like tea", 2)
        bot.model.script(Reply("noted"), Block(release))
        await say(bot, "What's new?", 3)
        await bot.model.wait_for_request(is_summary_request, timeout=10)
        assert await say(bot, "still there?", 4) == "echo: still there?"
        assert logs.named("summary_saved") == []
        assert user_messages(bot.model.requests[-1].messages) == [
            "I like tea",
            "What's new?",
            "still there?",
        ]
        release.set()
        await logs.wait_for("summary_saved")

    async def test_failing_summary_leaves_replies_working(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """A summary call that fails is logged; the user sees nothing of it and is answered."""
        bot = summarising
        await say(bot, "My name is Ada", 1)
        await say(bot, "I like tea", 2)
        bot.model.script(Reply("noted"), Error(400, "summary refused", code="invalid_value"))
        await say(bot, "What's new?", 3)
        [failed] = await logs.wait_for("summary_failed")
        assert failed["error_type"] == "bad_request"
        assert await say(bot, "and now?", 4) == "echo: and now?"
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == [
            "echo: My name is Ada",
            "echo: I like tea",
            "noted",
            "echo: and now?",
        ]
        assert db_rows(bot, "SELECT * FROM chat_summaries") == []
        assert len(bot.model.requests[-1].messages) == 1 + 4 + 1  # no summary message

    async def test_timed_out_summary_is_abandoned(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """A summary slower than SUMMARY_TIMEOUT is given up and logged as a timeout."""
        bot = summarising
        await bot.restart(SUMMARY_TIMEOUT="0.5")
        await say(bot, "My name is Ada", 1)
        await say(bot, "I like tea", 2)
        bot.model.script(Reply("noted"), Hang(30))
        await say(bot, "What's new?", 3)
        [failed] = await logs.wait_for("summary_failed", timeout=15)
        assert failed["error_type"] == "timeout"
        assert await say(bot, "ok?", 4) == "echo: ok?"


class TestSummaryAndClear:
    async def test_clear_forgets_the_summary(
        self, summarising: RunningBot, logs: LogCapture
    ) -> None:
        """After /clear the next request carries neither old turns nor the summary."""
        bot = summarising
        await three_turns(bot)
        await logs.wait_for("summary_saved")
        await say(bot, "/clear", 4)
        await say(bot, "fresh start", 5)
        assert [m["content"] for m in bot.model.requests[-1].messages[1:]] == ["fresh start"]
        assert db_rows(bot, "SELECT * FROM chat_summaries") == []


class TestCalibratedTokens:
    async def test_estimate_uses_the_learnt_ratio(self, bot: RunningBot, logs: LogCapture) -> None:
        """Reported usage calibrates bytes per token; a reply without usage is estimated by it."""
        await say(bot, "The first question, with some words in it.", 1)
        [learnt] = await logs.wait_for("tokens_calibrated")
        assert learnt["model"] == "gpt-test" and learnt["samples"] == 1
        [(ratio,)] = db_rows(bot, "SELECT bytes_per_token FROM token_calibration")
        assert ratio != 4.0
        bot.model.script(Reply("an answer without usage", usage=False))
        await say(bot, "Second question", 2)
        sent = bot.model.requests[-1].messages
        expected = sum(ceil(len(m["content"].encode()) / ratio) + 4 for m in sent)
        rows = db_rows(bot, "SELECT prompt_tokens, estimated FROM usage ORDER BY id")
        assert rows[-1] == (expected, 1)

    async def test_calibration_survives_a_restart(self, bot: RunningBot) -> None:
        """The learnt ratio is stored and used again after a restart."""
        await say(bot, "Teach the estimate something about this model, please.", 1)
        await bot.restart()
        [(ratio,)] = db_rows(bot, "SELECT bytes_per_token FROM token_calibration")
        bot.model.script(Reply("no usage", usage=False))
        await say(bot, "again", 2)
        sent = bot.model.requests[-1].messages
        expected = sum(ceil(len(m["content"].encode()) / ratio) + 4 for m in sent)
        assert db_rows(bot, "SELECT prompt_tokens FROM usage ORDER BY id")[-1] == (expected,)
