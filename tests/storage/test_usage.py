"""Accounting reads of the usage table: totals since a moment, per user and per chat."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.storage import sqlite
from bot.storage.records import NewTurn, Usage, UsageTotals
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations
from bot.storage.sqlite.usage import DAY_S

DAY, MONTH = 1_000.0, 500.0  # the current day and month start at these moments


async def spend(
    store: Stores, chat: str, user: str, at: float, tokens: int, cost: float | None
) -> None:
    turn = await store.turns.add(NewTurn(chat, "q", user_id=user), now=at)
    assert turn is not None
    await store.turns.save_answer(turn.id, "a", Usage("m", tokens, tokens, cost), now=at)


@pytest.fixture
async def history(storage: Stores) -> Stores:
    await spend(storage, "tg:1", "1", at=100, tokens=10, cost=1.0)  # before this month
    await spend(storage, "tg:1", "1", at=600, tokens=20, cost=2.0)  # this month
    await spend(storage, "tg:-5", "1", at=1_100, tokens=30, cost=None)  # today, unpriced
    await spend(storage, "tg:-5", "2", at=1_200, tokens=40, cost=4.0)  # today
    return storage


class TestUsageTotals:
    async def test_everyone_since(self, history: Stores) -> None:
        """Totals since a moment add up every request from then on; unpriced ones cost 0."""
        assert await history.usage.totals(since=DAY) == UsageTotals(2, 70, 70, 4.0)
        assert await history.usage.totals(since=0) == UsageTotals(4, 100, 100, 7.0)

    async def test_one_user(self, history: Stores) -> None:
        """A user's totals count their requests in every chat, and nobody else's."""
        assert await history.usage.totals(since=MONTH, user_id="1") == UsageTotals(2, 50, 50, 2.0)
        assert await history.usage.totals(since=0, user_id="3") == UsageTotals()

    async def test_survive_clear(self, history: Stores) -> None:
        """Clearing a chat's conversation does not erase what it cost."""
        await history.turns.clear_chat("tg:1")
        assert (await history.usage.totals(since=0)).requests == 4


class TestUsageBy:
    async def test_per_user_today_month_all_time(self, history: Stores) -> None:
        """Per user: today, this month and all time, the costliest first."""
        rows = await history.usage.by("user_id", day=DAY, month=MONTH, limit=10)
        assert [r.key for r in rows] == ["2", "1"]
        one = rows[1]
        assert one.today == UsageTotals(1, 30, 30, 0.0)
        assert one.month == UsageTotals(2, 50, 50, 2.0)
        assert one.all_time == UsageTotals(3, 60, 60, 3.0)

    async def test_per_chat_with_limit(self, history: Stores) -> None:
        """Per chat, cut to the `limit` costliest."""
        rows = await history.usage.by("chat_id", day=DAY, month=MONTH, limit=1)
        assert [(r.key, r.all_time.tokens) for r in rows] == [("tg:-5", 140)]


class TestTotalsByDay:
    """Budgets' reads add up per-day totals, which must agree with the usage rows."""

    @pytest.fixture
    async def days(self, storage: Stores) -> Stores:
        for day in range(3):
            for hour in (1, 13):
                at = day * DAY_S + hour * 3600
                await spend(storage, "tg:1", "1", at=at, tokens=10, cost=1.0)
                await spend(storage, "tg:2", "2", at=at, tokens=100, cost=None)
        await storage.usage.record("tg:1", Usage("m", 7, 7, 0.5), now=2 * DAY_S)  # a summary
        return storage

    async def test_from_a_days_start(self, days: Stores) -> None:
        """Since the start of a day: every request of that day and the later ones."""
        assert await days.usage.totals(since=DAY_S) == UsageTotals(9, 447, 447, 4.5)
        assert await days.usage.totals(since=DAY_S, user_id="1") == UsageTotals(4, 40, 40, 4.0)

    async def test_from_within_a_day(self, days: Stores) -> None:
        """Since a moment within a day: that day's later requests count, its earlier ones not."""
        since = DAY_S + 12 * 3600
        assert await days.usage.totals(since=since) == UsageTotals(7, 337, 337, 3.5)
        assert await days.usage.totals(since=since, user_id="2") == UsageTotals(3, 300, 300, 0.0)

    async def test_older_usage_is_added_up_by_the_upgrade(self, tmp_path: Path) -> None:
        """Usage recorded before the per-day totals existed counts after the upgrade."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as db:
            for version, script in migrations():
                if version < 4:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {version}")
            db.executemany(
                "INSERT INTO usage (chat_id, user_id, model, prompt_tokens, completion_tokens,"
                " cost_usd, at) VALUES ('tg:1', ?, 'm', 10, 5, ?, ?)",
                [("1", 1.0, 100.0), ("1", None, DAY_S + 5.0), (None, 0.5, DAY_S + 9.0)],
            )
        database = Database(path)
        await database.open()
        store = sqlite.stores(database)
        try:
            assert await store.usage.totals(since=0) == UsageTotals(3, 30, 15, 1.5)
            assert await store.usage.totals(since=DAY_S) == UsageTotals(2, 20, 10, 0.5)
            assert await store.usage.totals(since=0, user_id="1") == UsageTotals(2, 20, 10, 1.0)
        finally:
            await database.close()
