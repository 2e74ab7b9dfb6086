"""Shows "typing…" in a chat, refreshed until the answer is there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import RetryAfter, TelegramError

from bot.observability.logs import get_logger
from bot.telegram.reply.delivery import retry_after_seconds

log = get_logger(__name__)

# Telegram shows a chat action for about five seconds.
REFRESH_SECONDS = 4.0


async def _keep_typing(bot: Bot, chat_id: int, thread_id: int | None, every: float) -> None:
    while True:
        wait = every
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
        except RetryAfter as exc:
            wait = max(every, retry_after_seconds(exc))
        except TelegramError as exc:
            log.debug("typing_failed", error=type(exc).__name__)
        await asyncio.sleep(wait)


class Typing:
    """A running "typing…" indicator; ``stop()`` ends it early (the answer became visible)."""

    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    def stop(self) -> None:
        self._task.cancel()


@asynccontextmanager
async def typing(
    bot: Bot, chat_id: int, *, thread_id: int | None = None, every: float | None = None
) -> AsyncIterator[Typing]:
    """Show "typing…" until the block ends or the yielded handle is stopped."""
    refresh = REFRESH_SECONDS if every is None else every
    task = asyncio.create_task(_keep_typing(bot, chat_id, thread_id, refresh))
    try:
        yield Typing(task)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
