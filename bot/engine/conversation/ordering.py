"""Per-chat ordering: one chat's messages are handled strictly one after another.

Different chats never wait for each other. asyncio.Lock wakes waiters first-in first-out, so
work that reaches `hold()` in arrival order runs in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ChatLocks:
    """A lock per chat, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id]
                del self._locks[chat_id]

    def busy(self, chat_id: str) -> bool:
        """Whether someone holds or waits for the chat's lock right now."""
        return chat_id in self._locks

    def __len__(self) -> int:
        return len(self._locks)
