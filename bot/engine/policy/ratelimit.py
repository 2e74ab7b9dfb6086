"""Per-user message rate limit: at most N messages in any window of W seconds.

The `limits` library's moving window counts every message of the last W seconds (a fixed window
would let 2N through around a window boundary), and its window statistics tell exactly when the
oldest message leaves the window, which is how long the user is asked to wait. Its in-memory
storage forgets a user once their messages have left the window.

The synchronous storage is used from async code on purpose: it is memory only (a call never
waits on I/O; it takes microseconds), and the async one is far costlier for the same
algorithm. After each message the async storage sweeps expired entries with one
`asyncio.to_thread` hop per user still in the window (~0.1 ms each, on the event loop), so
with 50 users writing it burnt ~70% of a core between their messages. The synchronous one
sweeps in plain Python (~1 µs a user), but from a new `threading.Timer` thread started after
each counted message (at most one per 10 ms): ~0.35 ms of CPU per answer with the limit on.
So the storage here sweeps inline instead, at most once a second, on the message that finds
the last sweep older than that. The window's arithmetic does not depend on the sweep (it
compares times); the sweep only forgets the messages and users that left their window.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter

SWEEP_EVERY_S = 1.0


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
        from limits.strategies import MovingWindowRateLimiter  # noqa: PLC0415

        item = RateLimitItemPerSecond(self._messages, self._window_seconds)
        self._limit = (item, MovingWindowRateLimiter(swept_storage()))
        return self._limit


def swept_storage() -> MemoryStorage:
    """limits' in-memory storage, swept inline at most once a second (module docstring)."""
    from limits.storage import MemoryStorage  # noqa: PLC0415

    class SweptMemoryStorage(MemoryStorage):
        swept_at = 0.0

        # limits calls this private hook on every counted message (name-mangled: it is
        # MemoryStorage.__schedule_expiry); limits is pinned below 6.
        def _MemoryStorage__schedule_expiry(self) -> None:
            now = time.monotonic()
            if now - self.swept_at >= SWEEP_EVERY_S:
                self.swept_at = now
                self._MemoryStorage__expire_events()  # type: ignore[attr-defined]

    return SweptMemoryStorage()
