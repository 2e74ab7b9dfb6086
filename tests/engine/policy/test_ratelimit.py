"""The per-user moving-window rate limit (the `limits` library, in memory)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, cast

import pytest

from bot.engine.policy.ratelimit import MessageRateLimit

if TYPE_CHECKING:
    from limits.storage import MemoryStorage


class TestMessageRateLimit:
    async def test_n_messages_then_a_wait(self) -> None:
        """N messages pass; the next is refused with a wait of at most the window."""
        limit = MessageRateLimit(3, 60)
        assert [await limit.hit("u1") for _ in range(3)] == [None, None, None]
        wait = await limit.hit("u1")
        assert wait is not None and 0 < wait <= 60

    async def test_users_are_counted_apart(self) -> None:
        """One user's messages do not count against another's."""
        limit = MessageRateLimit(1, 60)
        assert await limit.hit("u1") is None
        assert await limit.hit("u2") is None
        assert await limit.hit("u1") is not None

    async def test_zero_turns_it_off(self) -> None:
        """RATE_LIMIT_MESSAGES=0 lets everything through."""
        limit = MessageRateLimit(0, 60)
        assert not limit.enabled
        assert [await limit.hit("u1") for _ in range(100)] == [None] * 100


class TestSweep:
    async def test_counting_starts_no_thread(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Counted messages start no thread (limits' own storage started a timer thread after
        each one, at most one per 10 ms: CPU on every answer)."""
        limit = MessageRateLimit(100, 60)
        assert await limit.hit("u0") is None  # opens the storage (its one timer at start)
        started: list[threading.Thread] = []
        original = threading.Thread.start

        def counting(thread: threading.Thread) -> None:
            started.append(thread)
            original(thread)

        monkeypatch.setattr(threading.Thread, "start", counting)
        for n in range(5):
            await asyncio.sleep(0.03)  # longer than limits' timer: it would start anew each time
            assert await limit.hit(f"u{n}") is None
        assert started == []

    async def test_messages_out_of_their_window_are_dropped(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Once a user's messages have left the window, the next sweep (at most once a second,
        on a later message) drops them: stored messages do not pile up without a timer."""
        limit = MessageRateLimit(5, 1)
        assert await limit.hit("old") is None
        assert _users_in(limit) == {"old"}
        later_wall, later_mono = time.time() + 5, time.monotonic() + 5
        monkeypatch.setattr(time, "time", lambda: later_wall)
        monkeypatch.setattr(time, "monotonic", lambda: later_mono)
        assert await limit.hit("new") is None
        assert _users_in(limit) == {"new"}


def _users_in(limit: MessageRateLimit) -> set[str]:
    """The users the limiter's in-memory storage holds messages of (keys LIMITER/<user>/…)."""
    assert limit._limit is not None
    storage = cast("MemoryStorage", limit._limit[1].storage)
    return {key.split("/")[1] for key, events in storage.events.items() if events}
