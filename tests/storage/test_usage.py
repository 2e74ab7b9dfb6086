"""Accounting reads of the usage table: totals since a moment, per user and per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.base import NewTurn, Usage, UsageTotals
from bot.storage.sqlite import SQLiteStorage

DAY, MONTH = 1_000.0, 500.0  # the current day and month start at these moments


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(tmp_path / "bot.db")
    await store.open()
    yield store
    await store.close()


async def spend(
    store: SQLiteStorage, chat: str, user: str, at: float, tokens: int, cost: float | None
) -> None:
    turn = await store.add_turn(NewTurn(chat, "q", user_id=user), now=at)
    assert turn is not None
    await store.save_answer(turn.id, "a", Usage("m", tokens, tokens, cost), now=at)


@pytest.fixture
async def history(storage: SQLiteStorage) -> SQLiteStorage:
    await spend(storage, "tg:1", "1", at=100, tokens=10, cost=1.0)  # before this month
    await spend(storage, "tg:1", "1", at=600, tokens=20, cost=2.0)  # this month
    await spend(storage, "tg:-5", "1", at=1_100, tokens=30, cost=None)  # today, unpriced
    await spend(storage, "tg:-5", "2", at=1_200, tokens=40, cost=4.0)  # today
    return storage


class TestUsageTotals:
    async def test_everyone_since(self, history: SQLiteStorage) -> None:
        """Totals since a moment add up every request from then on; unpriced ones cost 0."""
        assert await history.usage_totals(since=DAY) == UsageTotals(2, 70, 70, 4.0)
        assert await history.usage_totals(since=0) == UsageTotals(4, 100, 100, 7.0)

    async def test_one_user(self, history: SQLiteStorage) -> None:
        """A user's totals count their requests in every chat, and nobody else's."""
        assert await history.usage_totals(since=MONTH, user_id="1") == UsageTotals(2, 50, 50, 2.0)
        assert await history.usage_totals(since=0, user_id="3") == UsageTotals()

    async def test_survive_clear(self, history: SQLiteStorage) -> None:
        """Clearing a chat's conversation does not erase what it cost."""
        await history.clear_chat("tg:1")
        assert (await history.usage_totals(since=0)).requests == 4


class TestUsageBy:
    async def test_per_user_today_month_all_time(self, history: SQLiteStorage) -> None:
        """Per user: today, this month and all time, the costliest first."""
        rows = await history.usage_by("user_id", day=DAY, month=MONTH, limit=10)
        assert [r.key for r in rows] == ["2", "1"]
        one = rows[1]
        assert one.today == UsageTotals(1, 30, 30, 0.0)
        assert one.month == UsageTotals(2, 50, 50, 2.0)
        assert one.all_time == UsageTotals(3, 60, 60, 3.0)

    async def test_per_chat_with_limit(self, history: SQLiteStorage) -> None:
        """Per chat, cut to the `limit` costliest."""
        rows = await history.usage_by("chat_id", day=DAY, month=MONTH, limit=1)
        assert [(r.key, r.all_time.tokens) for r in rows] == [("tg:-5", 140)]
