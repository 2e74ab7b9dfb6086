"""Saying a refusal once, not once per message: a bounded memory of who was told what.

A refused person who keeps writing must not make the bot write back every time (that would
turn the bot into an amplifier). Entries expire after their own time to live, and the memory
holds at most `maxsize` of them (the least recently used go first), so it cannot grow without
bound however many people write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from cachetools import TLRUCache

DEFAULT_MAXSIZE = 10_000


class Notices:
    """Remembers, for a while, that someone was told something."""

    def __init__(
        self, *, maxsize: int = DEFAULT_MAXSIZE, clock: Callable[[], float] = time.time
    ) -> None:
        self._told: TLRUCache[Hashable, float] = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, ttl, now: now + ttl, timer=clock
        )

    def first(self, key: Hashable, ttl: float) -> bool:
        """True if `key` was not told within its time to live; it counts as told from now on."""
        if key in self._told:
            return False
        self._told[key] = max(ttl, 0.0)
        return True

    async def first_shared(self, key: tuple[object, ...], ttl: float) -> bool:
        """`first`, across replicas when they share Redis (see `SharedNotices`); here, this
        process's memory."""
        return self.first(key, ttl)

    def __len__(self) -> int:
        return len(self._told)
