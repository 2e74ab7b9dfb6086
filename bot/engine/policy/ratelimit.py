"""Per-user message rate limit: at most N messages in any window of W seconds.

The `limits` library's moving window counts every message of the last W seconds (a fixed window
would let 2N through around a window boundary), and its window statistics tell exactly when the
oldest message leaves the window, which is how long the user is asked to wait. Its in-memory
storage forgets a user once their messages have left the window.

The synchronous storage is used from async code on purpose: it is memory only (a call never
waits on I/O; it takes microseconds), and the async one is far costlier for the same
algorithm. After each message the async storage sweeps expired entries with one
`asyncio.to_thread` hop per user still in the window (~0.1 ms each, on the event loop), so
with 50 users writing it burnt ~70% of a core between their messages; the synchronous one
sweeps in a background timer thread, in plain Python (~1 µs a user).
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class MessageRateLimit:
    """`hit(user)` counts a message; None if allowed, else the seconds to wait."""

    def __init__(self, messages: int, window_seconds: int) -> None:
        self._item = RateLimitItemPerSecond(messages, window_seconds) if messages > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @property
    def enabled(self) -> bool:
        return self._item is not None

    async def hit(self, key: str) -> float | None:
        """Count one message for `key`; a refused message is not counted."""
        if self._item is None or self._limiter.hit(self._item, key):
            return None
        stats = self._limiter.get_window_stats(self._item, key)
        return max(0.0, stats.reset_time - time.time())
