"""Stopping an answer while the model writes it: the generations in flight, one per chat.

A turn's generation runs inside `InFlight.running(turn)`. `InFlight.stop(chat_key)` cancels the
task that generates it, the way `asyncio.timeout` does: the model request is cancelled where it
waits, the cancellation is taken back when the block ends (`Task.uncancel`) and `Stopped` is
raised instead, carrying what the model had written so far (`Progress`). A cancellation from
elsewhere (shutdown) is never mistaken for a stop: it propagates as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.engine.conversation.context import Message
from bot.engine.models.completion import OnDelta
from bot.engine.models.reasoning import Reasoning
from bot.storage.records import Turn

STOPPED_MARK = "⏹ Stopped."


@dataclass
class Progress:
    """What a generation has so far: the request's messages and the text written."""

    messages: list[Message] = field(default_factory=list)
    text: str = ""

    def watch(self, on_delta: OnDelta | None) -> OnDelta:
        """`on_delta` that also keeps the text (the part kept if the answer is stopped)."""

        async def receive(chunk: str) -> None:
            if not isinstance(chunk, Reasoning):  # thinking is never kept as the answer
                self.text += chunk
            if on_delta is not None:
                await on_delta(chunk)

        return receive


class Stopped(Exception):  # an outcome, not an error: raised to leave the generation
    """The answer was stopped by the user; `progress` holds the part already written."""

    def __init__(self, progress: Progress) -> None:
        super().__init__("stopped")
        self.progress = progress


@dataclass
class _Running:
    turn: Turn
    task: asyncio.Task[object]
    progress: Progress
    stopped: bool = False


class InFlight:
    """The generations in flight, by chat key (a chat answers one turn at a time)."""

    def __init__(self) -> None:
        self._running: dict[str, _Running] = {}

    def turn(self, chat_key: str) -> Turn | None:
        """The turn whose answer the chat is generating now, if any."""
        running = self._running.get(chat_key)
        return None if running is None or running.stopped else running.turn

    def stop(self, chat_key: str, turn_id: int | None = None) -> Turn | None:
        """Stop the chat's generation (only turn `turn_id`'s, if given); the turn stopped, or
        None when there was nothing (or nothing else) to stop."""
        running = self._running.get(chat_key)
        if running is None or running.stopped:
            return None
        if turn_id is not None and running.turn.id != turn_id:
            return None
        running.stopped = True
        running.task.cancel()
        return running.turn

    @asynccontextmanager
    async def running(self, turn: Turn) -> AsyncIterator[Progress]:
        """Register the current task as generating `turn`'s answer; see the module docstring."""
        task = asyncio.current_task()
        assert task is not None
        entry = _Running(turn, task, Progress())
        self._running[turn.chat_id] = entry
        try:
            yield entry.progress
        except asyncio.CancelledError:
            if entry.stopped and task.uncancel() == 0:
                raise Stopped(entry.progress) from None
            raise  # cancelled from elsewhere too (shutdown): that wins
        else:
            if entry.stopped and task.cancelling():
                task.uncancel()  # the stop came as the answer completed, and was absorbed
        finally:
            if self._running.get(turn.chat_id) is entry:
                del self._running[turn.chat_id]
