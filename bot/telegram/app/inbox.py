"""The webhook's durable inbox (PostgreSQL, several replicas): record before acknowledging,
settle once handled, and hand the unsettled ones to the next leader.

The webhook answers 200 only after the update is recorded (a failure to record is a 500:
Telegram sends it again). Once the update has been handled — answered, refused, dropped or
failed — it is settled (deleted). A leader killed with updates still queued in its memory
leaves them recorded; the replica that takes over replays them in update_id order before it
receives anything new. An update that had been stored as a turn already is recognised as a
duplicate (recovery finishes that turn), so nothing is answered twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

from telegram import Update

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError

log = get_logger(__name__)

REPLAY_BATCH = 1000


class Inbox(Protocol):
    """What the channel uses of storage's UpdateInbox."""

    async def record(self, update_id: int, payload: str, *, now: float) -> None: ...

    async def settle(self, update_id: int) -> None: ...

    async def waiting(self, limit: int) -> list[tuple[int, str]]: ...


class RecordingQueue:
    """The application's update queue, with each update recorded in the inbox first (the
    webhook server only calls `put`)."""

    def __init__(self, inbox: Inbox, queue: asyncio.Queue[object]) -> None:
        self._inbox, self._queue = inbox, queue

    async def put(self, update: object) -> None:
        if isinstance(update, Update):
            await self._inbox.record(update.update_id, update.to_json(), now=time.time())
        await self._queue.put(update)


def settler(inbox: Inbox | None) -> Any:
    """The processor's `settled` callback: forget a handled update (None: no inbox)."""

    async def settled(update: Update) -> None:
        if inbox is None:
            return
        try:
            await inbox.settle(update.update_id)
        except StorageError as exc:  # it is replayed by the next leader: a duplicate then
            log.warning("inbox_settle_failed", update_id=update.update_id, error=str(exc))

    return settled


async def replay(inbox: Inbox | None, queue: asyncio.Queue[object], bot: Any) -> int:
    """Queue every unsettled update, oldest first; how many."""
    if inbox is None:
        return 0
    try:
        waiting = await inbox.waiting(REPLAY_BATCH)
    except StorageError as exc:
        log.warning("inbox_replay_failed", error=str(exc))
        return 0
    for _update_id, payload in waiting:
        await queue.put(Update.de_json(json.loads(payload), bot))
    if waiting:
        log.info("inbox_replayed", updates=len(waiting))
    return len(waiting)
