"""Who administers a group, as Telegram says, asked at most once a minute per group.

Every settings change in a group by someone who is not one of the bot's admins needs Telegram's
word that they administer the group. Asking per attempt (getChatMember) would let one member
make the bot call Telegram without end; instead the group's administrators are fetched once
(getChatAdministrators) and kept for `ttl` seconds, for at most `maxsize` groups (the least
recently used go first), so memory stays bounded however many groups the bot is in. Lookups of
one group that arrive together share one call. A failed lookup is not kept: the next attempt
asks again (the command rate limit bounds how often).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cachetools import TTLCache
from telegram import Bot
from telegram.error import TelegramError

from bot.observability.logs import get_logger

log = get_logger(__name__)

ADMINS_TTL_S = 60.0  # a promoted or demoted admin is seen within a minute
MAX_GROUPS = 4096


class ChatAdmins:
    """`is_admin(bot, chat, user)`, from a short-lived per-group list of administrators."""

    def __init__(
        self,
        *,
        ttl: float = ADMINS_TTL_S,
        maxsize: int = MAX_GROUPS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admins: TTLCache[int, frozenset[int]] = TTLCache(maxsize, ttl, timer=timer)
        self._asking: dict[int, asyncio.Task[frozenset[int] | None]] = {}  # in flight only

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """Whether Telegram says `user_id` administers the group (False if it cannot say)."""
        admins = self._admins.get(chat_id)
        if admins is None:
            admins = await self._fetch(bot, chat_id)
        return admins is not None and user_id in admins

    async def _fetch(self, bot: Bot, chat_id: int) -> frozenset[int] | None:
        task = self._asking.get(chat_id)
        if task is None:
            task = asyncio.create_task(self._ask(bot, chat_id))
            self._asking[chat_id] = task
            task.add_done_callback(lambda _: self._asking.pop(chat_id, None))
        return await asyncio.shield(task)

    async def _ask(self, bot: Bot, chat_id: int) -> frozenset[int] | None:
        try:
            members = await bot.get_chat_administrators(chat_id)
        except TelegramError as exc:
            log.warning("chat_admin_check_failed", error=type(exc).__name__)
            return None
        admins = frozenset(m.user.id for m in members)
        self._admins[chat_id] = admins
        log.debug("chat_admins_fetched", admins=len(admins))
        return admins
