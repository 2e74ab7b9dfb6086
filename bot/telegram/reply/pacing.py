"""How often one chat may be updated while an answer streams, and who is paused by flood control.

Telegram answers 429 ("retry after N seconds") to a bot that edits one message, or updates
one draft, more than about once a second, and lets a bot post only about 20 messages a
minute into one group. Streaming stays under both: updates of a chat are spaced by the
configured interval, group updates by a 20-a-minute window as well, and a 429 pauses that
chat alone for the time Telegram asked.

All of this is in memory, per process: after a restart nothing is remembered, which costs at
most one 429 (that is then waited out).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

GROUP_UPDATES_PER_WINDOW = 20
"""Telegram's rough limit of messages a bot may post to one group per minute."""
GROUP_WINDOW_SECONDS = 60.0
_IDLE_SECONDS = 120.0  # a chat not updated for this long needs no pacing state
_SWEEP_ABOVE = 1_000  # forget idle chats once this many are tracked


async def sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline``, never less.

    uvloop's timers count in whole milliseconds and can fire up to a millisecond early; an
    update sent that early can be a 429 from Telegram (measured: 17 of 50 plain sleeps woke
    before their deadline).
    """
    while (left := deadline - time.monotonic()) > 0:  # noqa: ASYNC110 - a deadline, not an event
        await asyncio.sleep(left)


@dataclass(slots=True)
class _ChatPace:
    last_update: float = float("-inf")  # when the chat's last update call ended
    paused_until: float = 0.0
    # Group updates in the window; None until a group's first update, as private chats have
    # no window: an empty deque is ~600 bytes, ~6 MB for 10,000 private chats.
    recent: deque[float] | None = None


class ChatPacer:
    """Per-chat spacing of streamed updates and flood pauses; chats never slow each other."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._chats: dict[int, _ChatPace] = {}

    def ready_at(self, chat_id: int, interval: float, *, window: bool = True) -> float:
        """The earliest clock time at which the chat may get its next update.

        ``window=False`` leaves out the group's per-minute window (for the final text, which
        is never held back by it; Telegram's 429, if it comes, is waited out instead).
        """
        pace = self._chats.get(chat_id)
        if pace is None:
            return self._clock()
        at = max(pace.last_update + interval, pace.paused_until)
        if window and pace.recent is not None:
            self._forget_old(pace.recent)
            if len(pace.recent) >= GROUP_UPDATES_PER_WINDOW:
                at = max(at, pace.recent[-GROUP_UPDATES_PER_WINDOW] + GROUP_WINDOW_SECONDS)
        return at

    def paused_until(self, chat_id: int) -> float:
        """When the chat's flood pause ends (a past time when it is not paused)."""
        pace = self._chats.get(chat_id)
        return pace.paused_until if pace is not None else 0.0

    def updated(self, chat_id: int) -> None:
        """An update call for the chat has just ended."""
        now = self._clock()
        pace = self._pace(chat_id)
        pace.last_update = now
        if chat_id < 0:
            if pace.recent is None:
                pace.recent = deque()
            pace.recent.append(now)
            self._forget_old(pace.recent)

    def pause(self, chat_id: int, seconds: float) -> float:
        """Telegram asked the chat to wait ``seconds``; return when the pause ends."""
        pace = self._pace(chat_id)
        pace.paused_until = max(pace.paused_until, self._clock() + seconds)
        return pace.paused_until

    def _pace(self, chat_id: int) -> _ChatPace:
        pace = self._chats.get(chat_id)
        if pace is None:
            if len(self._chats) >= _SWEEP_ABOVE:
                self._sweep()
            pace = self._chats[chat_id] = _ChatPace()
        return pace

    def _forget_old(self, recent: deque[float]) -> None:
        horizon = self._clock() - GROUP_WINDOW_SECONDS
        while recent and recent[0] <= horizon:
            recent.popleft()

    def _sweep(self) -> None:
        now = self._clock()
        idle = [
            chat_id
            for chat_id, pace in self._chats.items()
            if now - pace.last_update > _IDLE_SECONDS and pace.paused_until <= now
        ]
        for chat_id in idle:
            del self._chats[chat_id]

    def __len__(self) -> int:
        return len(self._chats)
