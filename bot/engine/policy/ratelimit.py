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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.strategies import MovingWindowRateLimiter


class MessageRateLimit:
    """`hit(user)` counts a message; None if allowed, else the seconds to wait. The `limits`
    library is imported with the first message counted, not at start (~2 MB)."""

    def __init__(self, messages: int, window_seconds: int) -> None:
        self._messages = messages
        self._window_seconds = window_seconds
        self._limit: tuple[RateLimitItem, MovingWindowRateLimiter] | None = None

    @property
    def enabled(self) -> bool:
        return self._messages > 0

    async def hit(self, key: str) -> float | None:
        """Count one message for `key`; a refused message is not counted."""
        if not self.enabled:
            return None
        item, limiter = self._limit or self._open()
        if limiter.hit(item, key):
            return None
        stats = limiter.get_window_stats(item, key)
        return max(0.0, stats.reset_time - time.time())

    def _open(self) -> tuple[RateLimitItem, MovingWindowRateLimiter]:
        from limits import RateLimitItemPerSecond  # noqa: PLC0415 - see the class docstring
        from limits.storage import MemoryStorage  # noqa: PLC0415
        from limits.strategies import MovingWindowRateLimiter  # noqa: PLC0415

        item = RateLimitItemPerSecond(self._messages, self._window_seconds)
        self._limit = (item, MovingWindowRateLimiter(MemoryStorage()))
        return self._limit
