"""HISTORY_RETENTION_DAYS: turns older than that are deleted, at start-up and once a day.

Deletion goes in batches of BATCH_TURNS, each its own short write, with a pause between them,
so other chats' writes never wait long behind it. Only settled turns go (answered or failed:
unfinished ones belong to recovery), with the summaries last updated before the cutoff (a
summary holds what it folded in) and the titles of conversations started before it (a title
is made from the conversation's first question). Usage rows stay: they carry no message text,
and budgets and /usage need their figures for the month.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.repositories import (
    ConversationRepository,
    SummaryRepository,
    TurnRepository,
)

log = get_logger(__name__)

DAY_S = 86_400.0
BATCH_TURNS = 500
PAUSE_BETWEEN_BATCHES_S = 0.05  # lets other writes in between two batches


class Retention:
    """Deletes what is older than `days` (None: keeps everything)."""

    def __init__(
        self,
        turns: TurnRepository,
        summaries: SummaryRepository,
        conversations: ConversationRepository,
        days: int | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._turns = turns
        self._summaries = summaries
        self._conversations = conversations
        self.days = days
        self._clock = clock

    async def run_once(self) -> int:
        """Delete every settled turn sent more than `days` ago; how many went."""
        if self.days is None:
            return 0
        started = time.monotonic()
        cutoff = self._clock() - self.days * DAY_S
        deleted = 0
        while batch := await self._turns.delete_settled_before(cutoff, limit=BATCH_TURNS):
            deleted += batch
            await asyncio.sleep(PAUSE_BETWEEN_BATCHES_S)
        summaries = await self._summaries.delete_updated_before(cutoff)
        titles = await self._conversations.forget_titles_before(cutoff)
        log.info(
            "history_retention_done",
            days=self.days,
            turns=deleted,
            summaries=summaries,
            titles=titles,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return deleted

    async def _every_day(self) -> None:
        while True:
            try:
                await self.run_once()
            except StorageError as exc:  # tried again tomorrow; the bot goes on
                log.warning("history_retention_failed", error=str(exc))
            await asyncio.sleep(DAY_S)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run now and then once a day in the background while the block runs (nothing when
        retention is off); the task is cancelled when the block ends."""
        if self.days is None:
            yield
            return
        task = asyncio.create_task(self._every_day(), name="history retention")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
