"""Runs updates concurrently across chats and strictly in order within one chat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.engine.conversation import identity
from bot.engine.conversation.ordering import ChatLocks


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Each update holds its chat's lock for its whole handling, and is tracked for shutdown."""

    def __init__(self, locks: ChatLocks, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = locks
        self._tasks: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            chat = update.effective_chat if isinstance(update, Update) else None
            if chat is None:
                await coroutine
                return
            async with self.locks.hold(identity.telegram_chat(chat.id)):
                await coroutine
        finally:
            if task is not None:
                self._tasks.discard(task)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def cancel_in_flight(self) -> int:
        """Cancel what is still running (at the end of the shutdown grace period)."""
        for task in self._tasks:
            task.cancel()
        return len(self._tasks)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""
