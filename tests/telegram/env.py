"""Per-class bot settings: a test class's `ENV` dict is set before the bot starts.

Import `bot_env` into a test module to use it (it overrides the conftest fixture there), so
that classes configure the bot once, without a restart in each test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> dict[str, str]:
    for name, value in getattr(request.cls, "ENV", {}).items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env


@dataclass
class FakeClock:
    """Unix time that only moves when a test moves it."""

    now: float

    def __call__(self) -> float:
        return self.now


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Unix time of a UTC date and time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
