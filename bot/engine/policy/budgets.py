"""Spending limits: per user per UTC day and month, in tokens or in dollars, and one for everyone.

Usage is read from the usage table (one row per model request, kept through /clear), so limits
hold across restarts. A request is refused once a limit is reached; the request that crosses a
limit is still answered, so a limit can be overshot by at most one answer per user (or, for the
global limit, by the answers in flight).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

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

    async def overrun(self, user_id: str | None) -> Overrun | None:
        """The used-up budget that frees up last (None when the user may go on)."""
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
            used = _used(totals[key], budget.metric)
            if used >= budget.limit:
                found.append(Overrun(budget, used, period.end))
        return max(found, key=lambda o: o.resets_at, default=None)
