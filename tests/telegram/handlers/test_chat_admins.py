"""The per-group list of administrators: asked once per minute, shared, bounded."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telegram import Bot, ChatMemberOwner, User
from telegram.error import NetworkError

from bot.telegram.handlers.chat_admins import ChatAdmins


class StubBot:
    """Answers getChatAdministrators from a dict, counting the calls; can fail or be slow."""

    def __init__(self, admins: dict[int, list[int]]) -> None:
        self.admins = admins
        self.calls: list[int] = []
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def get_chat_administrators(self, chat_id: int) -> tuple[Any, ...]:
        self.calls.append(chat_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise NetworkError("down")
        # Only the users matter here (owner or administrator alike).
        users = [User(u, "Admin", is_bot=False) for u in self.admins.get(chat_id, [])]
        return tuple(ChatMemberOwner(user, is_anonymous=False) for user in users)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestChatAdmins:
    async def test_asked_once_per_ttl(self) -> None:
        """Lookups within the minute use the list; after it, Telegram is asked again."""
        stub, clock = StubBot({-1: [1, 2]}), Clock()
        admins = ChatAdmins(ttl=60, timer=clock)
        bot = cast(Bot, stub)
        assert await admins.is_admin(bot, -1, 2)
        assert not await admins.is_admin(bot, -1, 3)
        assert stub.calls == [-1]
        clock.now = 61
        assert await admins.is_admin(bot, -1, 1)
        assert stub.calls == [-1, -1]

    async def test_lookups_at_once_share_one_call(self) -> None:
        """Ten attempts arriving together while the list is fetched make one call."""
        stub = StubBot({-1: [1]})
        stub.gate = asyncio.Event()
        admins = ChatAdmins()
        tasks = [asyncio.create_task(admins.is_admin(cast(Bot, stub), -1, 1)) for _ in range(10)]
        await asyncio.sleep(0.01)
        stub.gate.set()
        assert all(await asyncio.gather(*tasks))
        assert stub.calls == [-1]

    async def test_failure_is_not_kept(self) -> None:
        """A failed lookup answers "not an admin" and is asked again next time."""
        stub = StubBot({-1: [1]})
        stub.fail = True
        admins = ChatAdmins()
        assert not await admins.is_admin(cast(Bot, stub), -1, 1)
        stub.fail = False
        assert await admins.is_admin(cast(Bot, stub), -1, 1)
        assert stub.calls == [-1, -1]

    async def test_memory_is_bounded(self) -> None:
        """At most `maxsize` groups are kept: the oldest is asked again."""
        stub = StubBot({})
        admins = ChatAdmins(maxsize=2)
        for chat in (-1, -2, -3, -1):
            await admins.is_admin(cast(Bot, stub), chat, 5)
        assert stub.calls == [-1, -2, -3, -1]
