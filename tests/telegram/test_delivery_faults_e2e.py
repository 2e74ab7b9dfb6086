"""End to end: each way Telegram can refuse an answer — what the user sees, what is stored,
what is logged. Passing trouble is retried and never loses the answer; a refusal for good
(the user blocked the bot) is logged once and not retried."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.openai import Reply
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for


async def answered(
    bot: RunningBot, logs: LogCapture, text: str = "echo: question", *, asked: bool = False
) -> None:
    """The user (asking now, unless `asked`) got exactly `text`, once; the turn is answered."""
    if not asked:
        bot.telegram.send_private_text(PRIVATE, "question")
    assert await answer_in(bot, PRIVATE, timeout=20) == text
    [done] = await logs.wait_for("reply_finished", timeout=20)
    assert done["outcome"] == "answered"
    assert [m.text for m in bot.telegram.messages(PRIVATE)] == [text]
    assert stored_turns(bot) == [("question", "answered", None)]


class TestPassingTroubleIsRetried:
    async def test_flood_control(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 429 on sending is waited out (retry_after) and the answer arrives once."""
        bot.telegram.fail_next("sendMessage", 429, retry_after=1)
        await answered(bot, logs)
        [retry] = logs.named("telegram_send_retry")
        assert retry["error"] == "RetryAfter" and retry["wait_s"] >= 1

    @pytest.mark.parametrize("status", [500, 502])
    async def test_server_error(self, bot: RunningBot, logs: LogCapture, status: int) -> None:
        """A 5xx from Telegram on sending is retried and the answer arrives once."""
        bot.telegram.fail_next("sendMessage", status)
        await answered(bot, logs)
        assert logs.named("telegram_send_retry")

    async def test_network_error(self, bot: RunningBot, logs: LogCapture) -> None:
        """A connection dropped while sending is retried and the answer arrives once."""
        bot.telegram.fail_next("sendMessage", drop_connection=True)
        await answered(bot, logs)
        assert logs.named("telegram_send_retry")

    async def test_formatting_rejected(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 400 "can't parse entities" sends the same answer as plain text instead."""
        bot.model.script(Reply("Some **bold** words"))
        bot.telegram.fail_next(
            "sendMessage", 400, "Bad Request: can't parse entities: unsupported entity"
        )
        await answered(bot, logs, "Some bold words")
        assert logs.named("formatting_rejected")
        [plain] = bot.telegram.messages(PRIVATE)
        assert plain.entities == []

    async def test_outlasting_the_retries_delivers_later(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Trouble that outlasts the retries leaves the answer stored; the recovery sweep sends
        it once Telegram is back, without asking the model again."""
        await bot.restart(RECOVERY_INTERVAL_SECONDS="1")
        bot.telegram.fail_next("sendMessage", 429, retry_after=1, times=5)
        bot.telegram.send_private_text(PRIVATE, "question")
        [postponed] = await logs.wait_for("delivery_postponed", timeout=30)
        assert postponed["error"] == "RetryAfter"
        assert stored_turns(bot) == [("question", "generated", None)]
        await answered(bot, logs, asked=True)
        assert len(bot.model.requests) == 1
        [recovering] = logs.named("turn_recovering")
        assert recovering["action"] == "deliver"


class TestRefusedForGood:
    @pytest.mark.parametrize(
        ("chat", "reason"),
        [
            (PRIVATE, "Forbidden: bot was blocked by the user"),
            (GROUP, "Forbidden: bot was kicked from the supergroup chat"),
        ],
    )
    async def test_blocked_is_logged_once_not_retried(
        self, bot: RunningBot, logs: LogCapture, chat: int, reason: str
    ) -> None:
        """403: one attempt, no apology sent after it, the turn fails, other chats go on."""
        await bot.restart(RECOVERY_INTERVAL_SECONDS="0.5")
        bot.telegram.fail_next("sendMessage", 403, reason, times=100, chat_id=chat)
        if chat == PRIVATE:
            bot.telegram.send_private_text(PRIVATE, "question")
        else:
            bot.telegram.send_group_text(GROUP, "@test_llm_bot question", user_id=7)
        [refused] = await logs.wait_for("answer_undeliverable", timeout=20)
        assert refused["error"] == "Forbidden" and refused["reason"] == reason
        [done] = await logs.wait_for("reply_finished")
        assert done["outcome"] == "failed" and done["error_type"] == "undeliverable"
        bot.telegram.send_private_text(PRIVATE + 5, "still working?")
        assert await answer_in(bot, PRIVATE + 5) == "echo: still working?"
        await asyncio.sleep(1.2)  # two sweeps: neither tries the blocked chat again
        assert len(bot.telegram.calls_of("sendMessage", chat_id=chat)) == 1
        assert logs.named("telegram_send_retry") == []
        assert logs.named("handler_error") == []
        assert stored_turns(bot)[0][1:] == ("failed", "undeliverable")

    async def test_blocked_command_reply_is_not_apologised_for(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A command's reply refused with 403 is logged; no apology is tried after it."""
        bot.telegram.fail_next("sendMessage", 403, times=100, chat_id=PRIVATE)
        bot.telegram.send_private_text(PRIVATE, "/start")
        [error] = await logs.wait_for("handler_error")
        assert error["error_type"] == "Forbidden"
        await quiet_for(bot)
        assert len(bot.telegram.calls_of("sendMessage", chat_id=PRIVATE)) == 1
        assert logs.named("error_reply_failed") == []
