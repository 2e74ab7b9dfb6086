"""Albums: several photos sent together (one media_group_id) are one question.

Telegram delivers an album as one update per photo, back to back. The first photo's turn is
stored at once; the next ones are added to it while they keep coming; once none came for
`window` seconds the turn is answered, by a task that takes the conversation's lock (as the
per-chat worker does), so the album is answered in its chat's order and no other chat waits.
A restart meanwhile leaves the turn pending, and recovery answers it with the photos stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.engine.conversation.ordering import ChatLocks
from bot.observability.logs import get_logger
from bot.storage.records import Turn

log = get_logger(__name__)

WINDOW_SECONDS = 1.5  # Telegram sends an album's updates within a fraction of a second
Answer = Callable[[Turn], Coroutine[Any, Any, None]]


@dataclass
class _Album:
    turn: Turn
    photos: int = 1
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # another photo came
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Albums:
    """The albums still arriving, by (conversation, media_group_id)."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self._window = window
        self._open: dict[tuple[str, str], _Album] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def arriving(self, group: str) -> bool:
        """Whether an album (its media_group_id, unique to it) is still being gathered."""
        return any(open_group == group for _, open_group in self._open)

    def turn_of(self, conversation: str, group: str) -> Turn | None:
        """The turn of an album still arriving (its next photo joins it), or None."""
        album = self._open.get((conversation, group))
        if album is None:
            return None
        album.photos += 1
        album.arrived.set()
        return album.turn

    def start(
        self,
        conversation: str,
        group: str,
        turn: Turn,
        *,
        lock: str,
        locks: ChatLocks,
        answer: Answer,
    ) -> None:
        """A new album's first photo, stored as `turn`: answered once the album is complete."""
        key = (conversation, group)
        album = _Album(turn)
        self._open[key] = album
        task = asyncio.create_task(self._answer_when_complete(key, album, lock, locks, answer))
        album.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_when_complete(
        self, key: tuple[str, str], album: _Album, lock: str, locks: ChatLocks, answer: Answer
    ) -> None:
        while True:  # until no photo came for a whole window
            album.arrived.clear()
            try:  # asyncio.timeout: 3.11's wait_for may swallow a cancel as a photo arrives
                async with asyncio.timeout(self._window):
                    await album.arrived.wait()
            except TimeoutError:
                break
        del self._open[key]
        log.info("album_complete", turn_id=album.turn.id, photos=album.photos)
        try:
            async with locks.hold(lock):
                await answer(album.turn)
        except Exception:  # a task of its own: nobody else would see the failure
            log.exception("album_answer_failed", turn_id=album.turn.id)

    async def wait(self) -> None:
        """Let the albums arriving be answered (shutdown's grace period)."""
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cancel(self) -> int:
        """Stop them (the grace period ended): their turns stay pending, for recovery."""
        for task in self._tasks:
            task.cancel()
        return len(self._tasks)
