"""The /usage figures: requests, tokens and cost for today, this month and all time (UTC)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.accounting.periods import Period, span
from bot.storage.records import UsageRow, UsageTotals
from bot.storage.repositories import UsageRepository


@dataclass(frozen=True)
class UsageReport:
    everyone: UsageRow
    users: list[UsageRow]  # the costliest first, at most `limit`
    chats: list[UsageRow]


async def usage_report(usage: UsageRepository, *, now: float, limit: int) -> UsageReport:
    day, month = span(Period.DAY, now).start, span(Period.MONTH, now).start
    totals: list[UsageTotals] = [await usage.totals(since=since) for since in (day, month, 0.0)]
    return UsageReport(
        everyone=UsageRow("everyone", *totals),
        users=await usage.by("user_id", day=day, month=month, limit=limit),
        chats=await usage.by("chat_id", day=day, month=month, limit=limit),
    )
