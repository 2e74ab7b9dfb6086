"""Spending limits: per user per UTC day and month, in tokens or in dollars, and one for everyone.

Usage is read from the usage table (one row per model request, kept through /clear), so limits
hold across restarts. A request is refused once a limit is reached; the request that crosses a
limit is still answered. Requests in flight count too: each holds an estimate of what it may
cost (its prompt and the whole MAX_OUTPUT_TOKENS, priced) from just before the model is asked
until its usage is stored, and a budget counts what is stored plus what is held. So however
many chats a user writes in at once, a limit is overshot by at most one answer per user (for
the global limit, one answer in all, admins' aside).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.config import LimitSettings
from bot.engine.accounting.periods import Period, span
from bot.storage.records import UsageTotals
from bot.storage.repositories import UsageRepository


class Scope(StrEnum):
    USER = "user"
    EVERYONE = "everyone"


class Metric(StrEnum):
    TOKENS = "tokens"
    COST = "cost"


@dataclass(frozen=True)
class Budget:
    scope: Scope
    period: Period
    metric: Metric
    limit: float

    def amount(self, value: float) -> str:
        """A quantity of this budget's metric, as a person reads it."""
        return f"${value:,.2f}" if self.metric is Metric.COST else f"{int(value):,} tokens"


@dataclass(frozen=True)
class Overrun:
    """A budget that is used up, and when it is available again."""

    budget: Budget
    used: float
    resets_at: float


@dataclass(frozen=True)
class Estimate:
    """What a request may cost at most, held against the budgets while it is in flight."""

    tokens: int
    cost_usd: float = 0.0


class Spending(Protocol):
    """What the conversation asks before a model request: hold its estimate, or refuse."""

    def hold(self, user_id: str | None, estimate: Estimate) -> AbstractAsyncContextManager[None]:
        """Hold `estimate` for the block; raise `errors.OverBudget` when a budget is used up."""
        ...


class Unlimited:
    """No budgets: every request may go ahead (the terminal's default, specs)."""

    @asynccontextmanager
    async def hold(self, user_id: str | None, estimate: Estimate) -> AsyncIterator[None]:
        yield


UNLIMITED: Spending = Unlimited()


class Holds:
    """The estimates of the requests in flight, by user (bounded by the requests in flight)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[str | None, Estimate]] = {}
        self._tickets = itertools.count()

    def add(self, user_id: str | None, estimate: Estimate) -> int:
        ticket = next(self._tickets)
        self._held[ticket] = (user_id, estimate)
        return ticket

    def release(self, ticket: int) -> None:
        self._held.pop(ticket, None)

    def of(self, user_id: str | None) -> UsageTotals:
        """What is held for one user (None: for everyone), as usage totals."""
        held = [e for who, e in self._held.values() if user_id is None or who == user_id]
        return UsageTotals(
            requests=len(held),
            prompt_tokens=sum(e.tokens for e in held),
            cost_usd=sum(e.cost_usd for e in held),
        )

    def __len__(self) -> int:
        return len(self._held)


def budgets_from(settings: LimitSettings) -> list[Budget]:
    """The configured budgets (an unset limit is no limit)."""
    candidates = [
        (Scope.USER, Period.DAY, Metric.TOKENS, settings.user_daily_token_limit),
        (Scope.USER, Period.MONTH, Metric.TOKENS, settings.user_monthly_token_limit),
        (Scope.USER, Period.DAY, Metric.COST, settings.user_daily_cost_limit),
        (Scope.USER, Period.MONTH, Metric.COST, settings.user_monthly_cost_limit),
        (Scope.EVERYONE, Period.MONTH, Metric.COST, settings.global_monthly_cost_limit),
    ]
    return [Budget(*c[:3], float(c[3])) for c in candidates if c[3] is not None]


def _used(totals: UsageTotals, metric: Metric) -> float:
    return totals.cost_usd if metric is Metric.COST else float(totals.tokens)


class Budgets:
    """Checks a user's request against every configured budget."""

    def __init__(
        self, usage: UsageRepository, budgets: Sequence[Budget], clock: Callable[[], float]
    ) -> None:
        self._usage = usage
        self.budgets = list(budgets)
        self._clock = clock
        self.holds = Holds()
        # A check and the hold it grants are one step: two requests cannot both pass on the
        # same figures.
        self._admitting = asyncio.Lock()

    @asynccontextmanager
    async def held(
        self, user_id: str | None, estimate: Estimate, *, check: bool = True
    ) -> AsyncIterator[Overrun | None]:
        """Hold `estimate` for the block unless (when `check`) a budget is used up: then hold
        nothing and yield that budget's overrun."""
        async with self._admitting:
            overrun = await self.overrun(user_id) if check else None
            ticket = None if overrun is not None else self.holds.add(user_id, estimate)
        try:
            yield overrun
        finally:
            if ticket is not None:
                self.holds.release(ticket)

    async def overrun(self, user_id: str | None) -> Overrun | None:
        """The used-up budget that frees up last (None when the user may go on); what the
        requests in flight hold counts as used."""
        now = self._clock()
        totals: dict[tuple[Scope, Period], UsageTotals] = {}
        found: list[Overrun] = []
        for budget in self.budgets:
            if budget.scope is Scope.USER and user_id is None:
                continue
            period = span(budget.period, now)
            key = (budget.scope, budget.period)
            if key not in totals:
                who = user_id if budget.scope is Scope.USER else None
                totals[key] = await self._usage.totals(since=period.start, user_id=who)
            held = self.holds.of(user_id if budget.scope is Scope.USER else None)
            used = _used(totals[key], budget.metric) + _used(held, budget.metric)
            if used >= budget.limit:
                found.append(Overrun(budget, used, period.end))
        return max(found, key=lambda o: o.resets_at, default=None)
