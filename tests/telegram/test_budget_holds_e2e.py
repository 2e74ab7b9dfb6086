"""End to end: budgets that hold: requests in flight count, summaries are charged to who asked,
anonymous senders have budgets of their own, and recovery asks the budgets again."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import ClassVar

from bot.engine.conversation.folding import INSTRUCTIONS
from tests.fakes._oai_payloads import echo_reply
from tests.fakes.openai import Block, ChatRequest
from tests.support.chats import PRIVATE, answer_in, say
from tests.support.database import database, db_rows, stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until

ALICE = 7
GROUPS = [-100601, -100602, -100603, -100604]
DAILY = "You've used up your daily allowance of "


def is_summary(request: ChatRequest) -> bool:
    return str(request.messages[0]["content"]).startswith(INSTRUCTIONS[:40])


class TestConcurrentTurns:
    # Far more than an answer uses, less than what one request may cost (MAX_OUTPUT_TOKENS).
    ENV: ClassVar[dict[str, str]] = {"USER_DAILY_TOKEN_LIMIT": "500"}

    async def test_one_user_in_many_chats(self, bot: RunningBot, logs: LogCapture) -> None:
        """One user asking in four groups at once: the first request holds its estimate, so the
        other three are refused before the model is asked (at most one answer past the limit);
        the refused turns are stored as failed, and their chats told why."""
        release = asyncio.Event()
        bot.model.script(Block(release))
        for group in GROUPS:
            bot.telegram.send_group_text(group, "@test_llm_bot question", user_id=ALICE)

        def refused() -> list[dict[str, object]]:
            # Refused just before the model (the turn was stored), or by the guard when the
            # first request's hold was already there as the message came in (nothing stored).
            guard = [e for e in logs.named("update_refused") if e["reason"] == "over_budget"]
            return logs.named("request_over_budget") + guard

        await until(lambda: len(refused()) == 3, "3 requests refused")
        await bot.model.wait_for_requests(1, timeout=10)  # the first, held by the model
        # A refused turn is always answered; the guard tells a user once an hour, in one chat.
        told = [e for e in refused() if e.get("told", True)]

        def refusals() -> list[str]:
            return [m.text for g in GROUPS for m in bot.telegram.messages(g)]

        await until(lambda: len(refusals()) == len(told), "each told refusal sent")
        assert all(t.startswith(DAILY + "500") for t in refusals())
        release.set()
        await logs.wait_for("reply_finished", 1, timeout=20)
        await quiet_for(bot)
        answered = [g for g in GROUPS if bot.telegram.messages(g)[-1].text.startswith("echo:")]
        assert len(answered) == 1
        assert len(bot.model.requests) == 1  # the other three never reached the model
        over = logs.named("request_over_budget")
        states = sorted(s[1:] for s in stored_turns(bot))
        assert states == [("answered", None)] + [("failed", "over_budget")] * len(over)
        assert {(e["scope"], e["period"], e["metric"], e["user_key"]) for e in over} <= {
            ("user", "day", "tokens", str(ALICE))
        }
        failed = [e for e in logs.named("reply_finished") if e["outcome"] == "failed"]
        assert [e["error_type"] for e in failed] == ["over_budget"] * len(over)

    async def test_holds_are_released(self, bot: RunningBot) -> None:
        """After an answer its hold is gone: the stored usage alone counts."""
        assert await say(bot, "one", 1) == "echo: one"
        # A leftover hold (at least MAX_OUTPUT_TOKENS, 1000) would refuse this one.
        assert await say(bot, "two", 2) == "echo: two"
        assert db_rows(bot, "SELECT COUNT(*) FROM usage") == [(2,)]


class TestAnonymousBudgets:
    ENV: ClassVar[dict[str, str]] = {"USER_DAILY_TOKEN_LIMIT": "10"}

    async def test_each_channel_has_its_own_budget(self, bot: RunningBot, logs: LogCapture) -> None:
        """Two users posting as their channels in one group: one's spent budget does not stop
        the other (both are Telegram's one placeholder user)."""
        group = {"id": GROUPS[0], "type": "supergroup", "title": "G"}
        channel_bot = {"id": 136817688, "is_bot": True, "first_name": "Channel"}
        mention = "@test_llm_bot"

        def post(channel: int, text: str) -> None:
            bot.telegram.push_message(
                group,
                channel_bot,
                text=f"{mention} {text}",
                sender_chat={"id": channel, "type": "channel", "title": str(channel)},
                entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
            )

        post(-100901, "a")
        await answer_in(bot, GROUPS[0], 1)
        post(-100901, "a again")
        assert (await answer_in(bot, GROUPS[0], 2)).startswith(DAILY)
        post(-100902, "b")
        assert (await answer_in(bot, GROUPS[0], 3)).startswith("echo:")
        [event] = await logs.wait_for("update_refused")
        assert event["reason"] == "over_budget"
        users = [r[0] for r in db_rows(bot, "SELECT user_id FROM usage ORDER BY id")]
        assert users == ["-100901", "-100902"]


class TestSummaryCharged:
    ENV: ClassVar[dict[str, str]] = {
        "SUMMARY_ENABLED": "true",
        "MAX_HISTORY_MESSAGES": "5",
        "SUMMARY_MIN_TURNS": "2",
    }

    async def test_to_the_chat_and_the_user(self, bot: RunningBot, logs: LogCapture) -> None:
        """A summary's usage is stored for the chat and for the user whose turn led to it, so
        their budgets and /usage count it."""
        bot.model.reply_with(
            lambda m: (
                "Ada likes tea."
                if str(m[0]["content"]).startswith(INSTRUCTIONS[:40])
                else echo_reply(m)
            )
        )
        for n, text in enumerate(["My name is Ada", "I like tea", "What's new?"]):
            await say(bot, text, n + 1)
        [saved] = await logs.wait_for("summary_saved")
        assert saved["user_id"] == str(PRIVATE)
        assert sum(is_summary(r) for r in bot.model.requests) == 1
        rows = db_rows(bot, "SELECT chat_id, user_id, turn_id FROM usage ORDER BY id")
        assert rows[-1] == (f"tg:{PRIVATE}", str(PRIVATE), None)
        assert len(rows) == 4
        [(requests,)] = db_rows(
            bot, f"SELECT SUM(requests) FROM usage_user_days WHERE user_id = '{PRIVATE}'"
        )
        assert requests == 4


class TestRecoveryRechecks:
    ENV: ClassVar[dict[str, str]] = {"USER_DAILY_TOKEN_LIMIT": "10"}

    async def test_pending_turn_of_an_over_budget_user(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A turn left pending by a crash is not answered after the restart when its user has
        used up their budget meanwhile: the user is told, the turn fails, the model is not
        asked."""
        assert await say(bot, "first", 1) == "echo: first"  # over the 10 tokens now
        await bot.stop()
        with sqlite3.connect(database(bot)) as db:
            now = time.time()
            db.execute(
                "INSERT INTO turns (chat_id, user_id, user_text, state, created_at, updated_at)"
                " VALUES (?, ?, 'left pending', 'pending', ?, ?)",
                (f"tg:{PRIVATE}", str(PRIVATE), now, now),
            )
        await bot.start()
        assert (await answer_in(bot, PRIVATE, 2, timeout=20)).startswith(DAILY + "10 tokens")
        [recovering] = await logs.wait_for("turn_recovering")
        assert recovering["action"] == "answer"
        [over] = await logs.wait_for("request_over_budget")
        assert over["user_key"] == str(PRIVATE)
        await quiet_for(bot)
        assert stored_turns(bot) == [
            ("first", "answered", None),
            ("left pending", "failed", "over_budget"),
        ]
        assert len(bot.model.requests) == 1
