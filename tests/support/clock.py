"""Time as the bot sees it, when a test wants to move it by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class FakeClock:
    """Unix time that only moves when a test moves it."""

    now: float

    def __call__(self) -> float:
        return self.now


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Unix time of a UTC date and time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
