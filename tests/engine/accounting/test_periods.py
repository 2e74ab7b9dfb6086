"""UTC days and months for budgets and /usage, and how resets are put into words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.accounting.periods import Period, describe_duration, describe_reset, span


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


class TestSpan:
    def test_day(self) -> None:
        """The UTC day runs from midnight to the next midnight."""
        day = span(Period.DAY, ts(2025, 3, 14, 22, 30))
        assert (day.start, day.end) == (ts(2025, 3, 14), ts(2025, 3, 15))

    @pytest.mark.parametrize(
        ("now", "start", "end"),
        [
            ((2024, 12, 31, 23, 59, 59), (2024, 12, 1), (2025, 1, 1)),
            ((2024, 2, 29, 12), (2024, 2, 1), (2024, 3, 1)),
            ((2025, 1, 1), (2025, 1, 1), (2025, 2, 1)),
        ],
    )
    def test_month(
        self, now: tuple[int, ...], start: tuple[int, ...], end: tuple[int, ...]
    ) -> None:
        """The UTC month runs from the 1st at 00:00 to the next 1st, across years too."""
        month = span(Period.MONTH, ts(*now))
        assert (month.start, month.end) == (ts(*start), ts(*end))

    @given(st.floats(min_value=0, max_value=4_000_000_000), st.sampled_from(list(Period)))
    def test_contains_now_and_ends_where_the_next_starts(self, now: float, period: Period) -> None:
        """Every moment lies in exactly one period; periods tile time without gaps."""
        current = span(period, now)
        assert current.start <= now < current.end
        assert span(period, current.end).start == current.end


class TestWords:
    @pytest.mark.parametrize(
        ("seconds", "words"),
        [
            (0.2, "1 s"),
            (40, "40 s"),
            (61, "2 min"),
            (3600, "1 h"),
            (7260, "2 h 1 min"),
            (86_400 + 3600, "25 h"),
            (21.5 * 86_400, "22 days"),
        ],
    )
    def test_durations(self, seconds: float, words: str) -> None:
        """Durations read naturally and never round down to nothing."""
        assert describe_duration(seconds) == words

    def test_reset_within_a_day_names_the_time(self) -> None:
        """A reset less than a day away is "at 00:00 UTC (in ...)"."""
        assert describe_reset(ts(2025, 3, 15), ts(2025, 3, 14, 21)) == "at 00:00 UTC (in 3 h)"

    def test_reset_further_away_names_the_date(self) -> None:
        """A reset days away names the date."""
        text = describe_reset(ts(2025, 4, 1), ts(2025, 3, 20))
        assert text == "on 1 April at 00:00 UTC (in 12 days)"
