"""Several conversations in one chat or topic: /new starts one, /chats switches back.

A chat (or forum topic) is named by its base key; its conversations are numbered from 1
(identity.numbered: conversation 1 keeps the base key, so chats from before /new are in their
conversation 1). Which one is current is stored, and cached here (bounded, least recently
used first out) because every message asks. Each conversation has its own turns and summary;
settings stay the chat's (profiles.py). Channels resolve a message's key through `current`;
a turn keeps the key it was stored with, so recovery and late delivery need nothing of this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from bot.engine.conversation import identity
from bot.engine.conversation.titles import Titler, tidy
from bot.observability.logs import get_logger
from bot.storage.records import ConversationRecord, Turn
from bot.storage.repositories import Stores

log = get_logger(__name__)

LISTED = 10  # conversations /chats shows
CACHED_CHATS = 10_000  # chats whose current conversation is kept in memory
TITLE_WORDS = 6  # a title made of the first question's first words
UNTITLED = "(empty)"


@dataclass(frozen=True)
class Listed:
    """One line of /chats."""

    number: int
    key: str
    title: str
    current: bool


class Conversations:
    """Which conversation of a chat is current; starting, switching and listing them."""

    def __init__(
        self,
        stores: Stores,
        titles: Titler,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = stores.conversations
        self._turns = stores.turns
        self.titles = titles
        self._clock = clock
        self._current: LRUCache[str, int] = LRUCache(maxsize=CACHED_CHATS)

    async def current(self, base_key: str) -> str:
        """The key of the chat's (or topic's) current conversation."""
        number = self._current.get(base_key)
        if number is None:
            number = await self._repository.current(base_key)
            self._current[base_key] = number
        return identity.numbered(base_key, number)

    async def start_new(self, base_key: str, *, user_id: str | None = None) -> str:
        """Start the chat's next conversation, empty, and make it current; its key. The one
        left keeps its turns and summary (and is titled, if it has none, in the background)."""
        left = await self.current(base_key)
        number = await self._repository.create(base_key, now=self._clock())
        self._current[base_key] = number
        if await self._turns.count_answered(left):
            self.titles.schedule(left, user_id=user_id)
        log.info("conversation_started", chat_key=base_key, number=number)
        return identity.numbered(base_key, number)

    async def switch(self, base_key: str, number: int) -> str | None:
        """Make conversation `number` current again; its key, or None when there is none."""
        if not await self._repository.switch(base_key, number, now=self._clock()):
            return None
        self._current[base_key] = number
        log.info("conversation_switched", chat_key=base_key, number=number)
        return identity.numbered(base_key, number)

    async def listing(self, base_key: str) -> list[Listed]:
        """The chat's most recently used conversations (at most LISTED), with titles: the
        model's, else the first words of the first question. A chat that never used /new
        lists its only conversation."""
        current = identity.number_of(await self.current(base_key))
        records = await self._repository.recent(base_key, LISTED)
        if not any(r.number == current for r in records):
            now = self._clock()
            records = [ConversationRecord(current, None, now, now), *records][:LISTED]
        return [
            Listed(
                r.number,
                identity.numbered(base_key, r.number),
                await self._title(base_key, r),
                r.number == current,
            )
            for r in records
        ]

    async def _title(self, base_key: str, record: ConversationRecord) -> str:
        if record.title:
            return record.title
        first = await self._turns.answered_page(
            identity.numbered(base_key, record.number), after=0, limit=1
        )
        if not first:
            return UNTITLED
        words = first[0].user_text.split()
        title = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
        return tidy(title) or UNTITLED

    def answered(self, turn: Turn) -> None:
        """A turn was delivered: a second or later conversation's first answer gets a title
        (the titler checks that it has none yet)."""
        if identity.number_of(turn.chat_id) > 1:
            self.titles.schedule(turn.chat_id, user_id=turn.user_id)
