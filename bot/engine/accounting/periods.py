"""Accounting periods: the UTC day and the UTC month, as Unix timestamps.

Budgets and /usage count from the start of the current period; a period ends exactly where the
next one starts, so a request belongs to one day and one month only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class Span:
    """[start, end) of one period, as Unix timestamps."""

    start: float
    end: float


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def span(period: Period, now: float) -> Span:
    """The period (UTC day or UTC month) that contains `now`."""
    moment = _utc(now)
    if period is Period.DAY:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    else:
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    return Span(start.timestamp(), end.timestamp())


def describe_reset(at: float, now: float) -> str:
    """When a period ends, in words: "at 00:00 UTC (in 3 h 5 min)" or "on 1 May 00:00 UTC (...)"."""
    moment = _utc(at)
    when = (
        "at 00:00 UTC"
        if at - now <= 86_400
        else f"on {moment.day} {moment:%B} at {moment:%H:%M} UTC"
    )
    return f"{when} (in {describe_duration(at - now)})"


def describe_duration(seconds: float) -> str:
    """A short human duration, rounded up: "40 s", "3 min", "2 h 5 min", "4 days"."""
    total = max(1, int(-(-seconds // 1)))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days >= 2:
        return f"{days + (1 if hours >= 12 else 0)} days"
    if days or hours:
        hours += days * 24
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes + (1 if secs else 0)} min"
    return f"{secs} s"
