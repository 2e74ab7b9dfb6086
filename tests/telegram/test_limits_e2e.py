"""End to end: the per-user rate limit, budgets with their period boundaries, and cost figures."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import ClassVar

from tests.support.chats import PRIVATE, answer_in
from tests.support.clock import FakeClock, utc
from tests.support.running import LogCapture, RunningBot

OTHER = 1002
ADMIN = 9001


async def ask(bot: RunningBot, chat: int, text: str, count: int) -> str:
    bot.telegram.send_private_text(chat, text)
    return await answer_in(bot, chat, count, timeout=20)


def usage_rows(bot: RunningBot) -> list[tuple[str, str, int, int, float | None]]:
    path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT user_id, model, prompt_tokens, completion_tokens, cost_usd FROM usage"
            " ORDER BY id"
        ).fetchall()


class TestRateLimit:
    ENV: ClassVar[dict[str, str]] = {
        "RATE_LIMIT_MESSAGES": "2",
        "RATE_LIMIT_WINDOW_SECONDS": "2",
        "ADMIN_USER_IDS": "9001",
    }

    async def test_reached_then_released(self, bot: RunningBot, logs: LogCapture) -> None:
        """Over the limit the user is told how long to wait, once; after the window, answered."""
        for n in range(4):
            bot.telegram.send_private_text(PRIVATE, f"m{n}")
        events = await logs.wait_for("update_refused", 2, timeout=20)
        await answer_in(bot, PRIVATE, 3, timeout=20)
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        # Refused as they arrive (before they wait for their chat): the notice comes first.
        assert texts[0].startswith("You're sending messages too fast. Please wait ")
        assert texts[1:] == ["echo: m0", "echo: m1"]
        assert [e["reason"] for e in events] == ["rate_limited"] * 2
        assert [e["told"] for e in events] == [True, False]
        assert 0 < float(events[0]["retry_after_s"]) <= 2
        assert len(bot.model.requests) == 2
        await asyncio.sleep(2.5)  # the window moves past the first two messages
        assert await ask(bot, PRIVATE, "again", 4) == "echo: again"

    async def test_commands_that_ask_the_model_count(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """/retry asks the model again, so it is held to the limit; /stats is not."""
        for text in ("a", "b", "/stats", "/retry"):
            bot.telegram.send_private_text(PRIVATE, text)
        [event] = await logs.wait_for("update_refused", timeout=20)
        assert event["reason"] == "rate_limited"
        assert "Requests: 2" in (await answer_in(bot, PRIVATE, 3, timeout=20))
        assert len(bot.model.requests) == 2

    async def test_per_user_and_admins_exempt(self, bot: RunningBot) -> None:
        """One user's limit does not hold back another; admins are not limited."""
        for n in range(3):
            bot.telegram.send_private_text(ADMIN, f"a{n}")
        bot.telegram.send_private_text(OTHER, "hi")
        assert await answer_in(bot, OTHER, timeout=20) == "echo: hi"
        await answer_in(bot, ADMIN, 3, timeout=20)
        assert [m.text for m in bot.telegram.messages(ADMIN)] == [f"echo: a{n}" for n in range(3)]


class TestUserBudgets:
    ENV: ClassVar[dict[str, str]] = {"USER_DAILY_TOKEN_LIMIT": "10", "ADMIN_USER_IDS": "9001"}

    async def test_daily_tokens_reached_and_reset_at_midnight(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Over the daily token limit the user is told when it resets; at 00:00 UTC it does."""
        clock = FakeClock(utc(2025, 3, 14, 22, 0))
        bot.clock = clock
        await bot.restart()
        assert await ask(bot, PRIVATE, "first", 1) == "echo: first"
        refused = await ask(bot, PRIVATE, "second", 2)
        assert refused == (
            "You've used up your daily allowance of 10 tokens. It resets at 00:00 UTC (in 2 h)."
        )
        [event] = await logs.wait_for("update_refused")
        assert event["reason"] == "over_budget" and event["told"] is True
        assert (event["scope"], event["period"], event["metric"]) == ("user", "day", "tokens")
        assert event["resets_in_s"] == 7200
        bot.telegram.send_private_text(PRIVATE, "third")  # told already: silence
        await logs.wait_for("update_refused", 2)
        assert logs.named("update_refused")[1]["told"] is False
        assert await ask(bot, OTHER, "someone else", 1) == "echo: someone else"
        assert await ask(bot, ADMIN, "admin", 1) == "echo: admin"
        assert len(bot.model.requests) == 3
        clock.now = utc(2025, 3, 15, 0, 0, 1)
        assert await ask(bot, PRIVATE, "next day", 3) == "echo: next day"


class TestMonthlyCostBudget:
    ENV: ClassVar[dict[str, str]] = {
        "USER_MONTHLY_COST_LIMIT": "0.5",
        "MODEL_PRICES": "gpt-test=1000000/1000000",
    }

    async def test_says_the_date_it_resets(self, bot: RunningBot, logs: LogCapture) -> None:
        """The monthly limit names the first of next month and resets then.

        Models without a price are named at start-up: a cost budget cannot see them.
        """
        clock = FakeClock(utc(2024, 12, 10, 12, 0))
        bot.clock = clock
        await bot.restart()
        unpriced = logs.named("cost_budget_without_price")[-1]
        assert unpriced["models"] == ["gpt-other", "big-model"]
        await ask(bot, PRIVATE, "pricey", 1)
        assert await ask(bot, PRIVATE, "more", 2) == (
            "You've used up your monthly allowance of $0.50. "
            "It resets on 1 January at 00:00 UTC (in 22 days)."
        )
        clock.now = utc(2025, 1, 1)
        assert await ask(bot, PRIVATE, "new year", 3) == "echo: new year"


class TestGlobalBudget:
    ENV: ClassVar[dict[str, str]] = {
        "GLOBAL_MONTHLY_COST_LIMIT": "5",
        "MODEL_PRICES": "gpt-test=1000000/1000000",
        "ADMIN_USER_IDS": "9001",
    }

    async def test_reached_for_everyone_and_reset(self, bot: RunningBot, logs: LogCapture) -> None:
        """Once everyone's spending reaches the global limit all but admins wait for the month."""
        clock = FakeClock(utc(2025, 1, 31, 12, 0))
        bot.clock = clock
        await bot.restart()
        assert await ask(bot, PRIVATE, "spend it all", 1) == "echo: spend it all"
        refused = await ask(bot, OTHER, "my turn", 1)
        assert refused == (
            "The bot has used up its monthly budget for everyone. It resets at 00:00 UTC (in 12 h)."
        )
        [event] = await logs.wait_for("update_refused")
        assert (event["scope"], event["period"], event["metric"]) == ("everyone", "month", "cost")
        assert await ask(bot, ADMIN, "admin", 1) == "echo: admin"
        assert len(bot.model.requests) == 2
        clock.now = utc(2025, 2, 1)
        assert await ask(bot, OTHER, "february", 2) == "echo: february"


class TestCost:
    ENV: ClassVar[dict[str, str]] = {"MODEL_PRICES": "gpt-test=2.50/10", "ADMIN_USER_IDS": "9001"}

    async def test_cost_is_stored_logged_and_reported(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Each answer's cost is prompt x input price + completion x output price, everywhere."""
        await ask(bot, PRIVATE, "what does this cost?", 1)
        usage = bot.model.last_usage
        assert usage is not None
        prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
        expected = prompt * 2.50 / 1e6 + completion * 10 / 1e6
        [(user, model, p, c, cost)] = usage_rows(bot)
        assert (user, model, p, c) == (str(PRIVATE), "gpt-test", prompt, completion)
        assert cost is not None and abs(cost - expected) < 1e-12
        [event] = await logs.wait_for("reply_finished")
        assert abs(float(event["cost_usd"]) - expected) < 1e-12
        assert f"Estimated cost: ${expected:,.4f}" in await ask(bot, PRIVATE, "/stats", 2)
        assert f"all 1 / {prompt + completion:,} / ${expected:,.4f}" in await ask(
            bot, ADMIN, "/usage", 1
        )


class TestDefaultPrices:
    ENV: ClassVar[dict[str, str]] = {"OPENAI_MODEL": "gpt-4o-mini", "OPENAI_MODELS": "gpt-4o-mini"}

    async def test_common_models_are_priced_without_configuration(self, bot: RunningBot) -> None:
        """gpt-4o-mini is priced from the default table (0.15 / 0.60 USD per 1M tokens)."""
        await ask(bot, PRIVATE, "hi", 1)
        usage = bot.model.last_usage
        assert usage is not None
        expected = usage["prompt_tokens"] * 0.15 / 1e6 + usage["completion_tokens"] * 0.60 / 1e6
        [(_, _, _, _, cost)] = usage_rows(bot)
        assert cost is not None and abs(cost - expected) < 1e-15
        assert "Estimated cost: $0.0000" in await ask(bot, PRIVATE, "/stats", 2)
