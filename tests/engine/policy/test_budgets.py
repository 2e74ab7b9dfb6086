"""Budgets against a real usage table, with the clock set by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import LimitSettings
from bot.engine.accounting.periods import Period
from bot.engine.policy.budgets import Budget, Budgets, Estimate, Metric, Scope, budgets_from
from bot.storage import sqlite
from bot.storage.records import NewTurn, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database

NOON = datetime(2025, 5, 15, 12, tzinfo=UTC).timestamp()
NEXT_DAY = datetime(2025, 5, 16, tzinfo=UTC).timestamp()
NEXT_MONTH = datetime(2025, 6, 1, tzinfo=UTC).timestamp()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Stores]:
    database = Database(tmp_path / "bot.db")
    await database.open()
    yield sqlite.stores(database)
    await database.close()


async def spend(store: Stores, user: str, tokens: int, cost: float, at: float) -> None:
    turn = await store.turns.add(NewTurn("tg:1", "q", user_id=user), now=at)
    assert turn is not None
    await store.turns.save_answer(turn.id, "a", Usage("m", tokens, 0, cost), now=at)


class TestConfiguredBudgets:
    def test_only_set_limits_are_budgets(self) -> None:
        """Unset limits are no limits; each set one becomes a budget."""
        settings = LimitSettings(user_daily_token_limit=1000, global_monthly_cost_limit=20.0)
        assert budgets_from(settings) == [
            Budget(Scope.USER, Period.DAY, Metric.TOKENS, 1000),
            Budget(Scope.EVERYONE, Period.MONTH, Metric.COST, 20.0),
        ]
        assert budgets_from(LimitSettings()) == []


class TestOverrun:
    async def test_under_then_at_the_limit(self, storage: Stores) -> None:
        """Below the limit a user goes on; reaching it stops them until the day ends."""
        budgets = Budgets(
            storage.usage, [Budget(Scope.USER, Period.DAY, Metric.TOKENS, 100)], lambda: NOON
        )
        await spend(storage, "1", 99, 0.0, NOON - 60)
        assert await budgets.overrun("1") is None
        await spend(storage, "1", 1, 0.0, NOON - 30)
        overrun = await budgets.overrun("1")
        assert overrun is not None and overrun.used == 100 and overrun.resets_at == NEXT_DAY
        assert await budgets.overrun("2") is None

    async def test_yesterday_does_not_count(self, storage: Stores) -> None:
        """Usage before today's start is outside the daily budget."""
        budgets = Budgets(
            storage.usage, [Budget(Scope.USER, Period.DAY, Metric.TOKENS, 100)], lambda: NOON
        )
        await spend(storage, "1", 500, 0.0, NOON - 86_400)
        assert await budgets.overrun("1") is None

    async def test_the_latest_reset_is_reported(self, storage: Stores) -> None:
        """With a daily and a monthly budget both used up, the month's end is what counts."""
        both = [
            Budget(Scope.USER, Period.DAY, Metric.COST, 1.0),
            Budget(Scope.EVERYONE, Period.MONTH, Metric.COST, 1.0),
        ]
        await spend(storage, "1", 10, 5.0, NOON - 60)
        overrun = await Budgets(storage.usage, both, lambda: NOON).overrun("1")
        assert overrun is not None and overrun.budget.scope is Scope.EVERYONE
        assert overrun.resets_at == NEXT_MONTH

    async def test_global_budget_applies_to_anonymous_senders(self, storage: Stores) -> None:
        """A message without a user is held to the global budget, not to per-user ones."""
        budgets = Budgets(
            storage.usage,
            [
                Budget(Scope.USER, Period.DAY, Metric.TOKENS, 1),
                Budget(Scope.EVERYONE, Period.MONTH, Metric.TOKENS, 50),
            ],
            lambda: NOON,
        )
        await spend(storage, "1", 10, 0.0, NOON - 60)
        assert await budgets.overrun(None) is None
        await spend(storage, "1", 40, 0.0, NOON - 30)
        overrun = await budgets.overrun(None)
        assert overrun is not None and overrun.budget.scope is Scope.EVERYONE


class TestHolds:
    """Requests in flight hold their estimate; a check and its hold are one step."""

    async def test_a_hold_counts_until_released(self, storage: Stores) -> None:
        """While one request holds 600 of a user's 1,000 tokens, a second asking is refused
        (the first may still use them); the user's other budgets and other users are not."""
        budget = Budget(Scope.USER, Period.DAY, Metric.TOKENS, 1000)
        budgets = Budgets(storage.usage, [budget], clock=lambda: NOON)
        await spend(storage, "u1", 500, 0.0, NOON)
        async with budgets.held("u1", Estimate(600)) as first:
            assert first is None
            async with budgets.held("u1", Estimate(10)) as second:
                assert second is not None and second.used == 1100
            assert len(budgets.holds) == 1
            assert await budgets.overrun("u2") is None
        assert len(budgets.holds) == 0
        assert await budgets.overrun("u1") is None

    async def test_concurrent_requests_pass_at_most_one_over(self, storage: Stores) -> None:
        """Ten requests of one user at once, each able to cross the limit: one is let through."""
        budget = Budget(Scope.USER, Period.DAY, Metric.COST, 1.0)
        budgets = Budgets(storage.usage, [budget], clock=lambda: NOON)
        await spend(storage, "u1", 10, 0.9, NOON)
        passed: list[bool] = []
        gate = asyncio.Event()

        async def request() -> None:
            async with budgets.held("u1", Estimate(100, 0.2)) as overrun:
                passed.append(overrun is None)
                await gate.wait()  # all in flight at once

        tasks = [asyncio.create_task(request()) for _ in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(*tasks)
        assert passed.count(True) == 1

    async def test_everyone_counts_every_hold(self, storage: Stores) -> None:
        """The global budget counts what every user's requests hold."""
        budget = Budget(Scope.EVERYONE, Period.MONTH, Metric.COST, 1.0)
        budgets = Budgets(storage.usage, [budget], clock=lambda: NOON)
        async with budgets.held("u1", Estimate(1, 0.6)), budgets.held("u2", Estimate(1, 0.5)):
            overrun = await budgets.overrun("u3")
            assert overrun is not None and abs(overrun.used - 1.1) < 1e-9
