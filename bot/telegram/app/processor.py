"""Runs updates concurrently across conversations and strictly in order within one, fairly.

A conversation is a chat, or one topic of a forum (or of a private chat with topics): two
topics of one group never wait for each other. Each conversation has a bounded first-in
first-out queue, drained by at most one worker for it. A global slot (one of
`max_concurrent`) is taken only while an update is actually handled, and only after its
conversation's lock is held, so updates that wait for their turn never hold a slot: a
conversation with hundreds of messages waiting cannot keep another one waiting.

An update is admitted (the access and rate-limit decision, see handlers/admission.py) as it
arrives, before it waits in its queue: a refused flood costs neither a slot nor a model call.
What arrives while a conversation's queue is full is dropped; it is told once per burst (until
its queue has drained), and every drop is logged (`update_dropped`).

The locks (engine/conversation/ordering.py), keyed by conversation key, stay the one source
of per-conversation exclusion: crash recovery takes the same locks (a turn's stored key).
python-telegram-bot's own semaphore is made non-binding (it would be taken before the
conversation is known); an update's task still ends only when its update has been handled,
so Application.stop() waits for queued work as before.

Updates that stop an answer (/stop, the Stop button, a draft's stop: `bypass`) skip the chat's
queue and lock: queued, they would wait for the very answer they are meant to stop. They still
take a global slot and pass the guard; they only cancel the chat's generation in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.engine.conversation.ordering import ChatLocks
from bot.observability.logs import get_logger
from bot.telegram.handlers.incoming import conversation_key

log = get_logger(__name__)

Admit = Callable[[Update], Awaitable[bool]]
"""True: the update may be queued; False: refused (the sender was told, if at all)."""
Tell = Callable[[Update], Awaitable[None]]
"""Tell the chat that its update was dropped (a full queue)."""
Bypass = Callable[[Update], bool]
"""True: handle the update at once, outside its chat's queue (see the module docstring)."""
Settled = Callable[[Update], Awaitable[None]]
"""The update was dealt with (handled, refused, dropped or failed): not called when cancelled."""

_NOT_BINDING = 2**30  # python-telegram-bot's semaphore; ours bound the work (see above)


async def _admit_all(_update: Update) -> bool:
    return True


async def _tell_nobody(_update: Update) -> None:
    return None


async def _nothing_to_settle(_update: Update) -> None:
    return None


def _queue_all(_update: Update) -> bool:
    return False


@dataclass(eq=False)
class _Job:
    update: Update
    coroutine: Coroutine[Any, Any, Any]
    admitted: asyncio.Future[bool]
    done: asyncio.Future[None]


@dataclass(eq=False)
class _ChatQueue:
    jobs: deque[_Job] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    told: bool = False  # the chat was told of a drop in this burst


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Per-conversation queues, one worker each, global slots only while handling; see above."""

    def __init__(
        self,
        locks: ChatLocks,
        *,
        max_queued_per_chat: int = 10,
        max_concurrent: int = 256,
        admit: Admit = _admit_all,
        tell_dropped: Tell = _tell_nobody,
        bypass: Bypass = _queue_all,
        settled: Settled = _nothing_to_settle,
    ) -> None:
        super().__init__(_NOT_BINDING)
        self.locks = locks
        self.max_queued_per_chat = max_queued_per_chat
        self._slots = asyncio.Semaphore(max_concurrent)
        self._admit = admit
        self._tell_dropped = tell_dropped
        self._bypass = bypass
        self.settled = settled  # replaceable once the dispatcher exists (app/run.py)
        self._queues: dict[str, _ChatQueue] = {}
        self._direct: set[asyncio.Task[Any]] = set()  # updates without a chat, being handled

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._process(update, coroutine)
        finally:
            task = asyncio.current_task()
            if isinstance(update, Update) and not (task and task.cancelling()):
                await self.settled(update)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or not isinstance(update, Update) or self._bypass(update):
            await self._run_direct(coroutine)
            return
        assert isinstance(coroutine, Coroutine)
        key = conversation_key(chat, update.effective_message)
        queue = self._queues.setdefault(key, _ChatQueue())
        if len(queue.jobs) >= self.max_queued_per_chat:
            coroutine.close()
            await self._dropped(update, chat.id, key, queue)
            return
        loop = asyncio.get_running_loop()
        job = _Job(update, coroutine, loop.create_future(), loop.create_future())
        queue.jobs.append(job)  # before any await: the queue keeps the order of arrival
        if queue.worker is None:
            queue.worker = asyncio.create_task(self._drain(key, queue), name=f"chat-{key}")
        if not await self._admitted(job):
            _forget(queue, job)
            return
        await job.done

    async def _admitted(self, job: _Job) -> bool:
        """Decide while the job waits its turn; a refused job is closed and never runs."""
        admitted = False
        try:
            admitted = await self._admit(job.update)
        except Exception:  # fail closed: a broken check must not let the update through
            log.exception("admission_failed")
        finally:
            if not job.admitted.done():
                job.admitted.set_result(admitted)
            if not admitted:
                job.coroutine.close()
                _resolve(job.done)
        return admitted

    async def _run_direct(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._direct.add(task)
        try:
            async with self._slots:
                await coroutine
        finally:
            if task is not None:
                self._direct.discard(task)

    async def _drain(self, key: str, queue: _ChatQueue) -> None:
        """Handle the chat's queued updates one by one, in order, until the queue is empty."""
        job: _Job | None = None
        try:
            while queue.jobs:
                job = queue.jobs[0]
                if await job.admitted:
                    async with self.locks.hold(key), self._slots:
                        await _run(job)
                _forget(queue, job)
                job = None
        finally:
            leftover = [*queue.jobs] if job is None else [job, *queue.jobs]
            for stopped in leftover:  # only when cancelled (shutdown's grace period ended)
                stopped.coroutine.close()
                stopped.done.cancel()
            queue.jobs.clear()
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _dropped(self, update: Update, chat_id: int, key: str, queue: _ChatQueue) -> None:
        """A full queue: log the drop; tell the conversation once until its queue has drained."""
        told, queue.told = not queue.told, True
        fields = {"chat_id": chat_id, "chat_key": key, "queued": len(queue.jobs), "told": told}
        if told:
            log.warning("update_dropped", **fields)
            await self._tell_dropped(update)
        else:
            log.debug("update_dropped", **fields)

    @property
    def in_flight(self) -> int:
        """Updates being handled or waiting in a chat's queue."""
        return len(self._direct) + sum(len(q.jobs) for q in self._queues.values())

    def cancel_in_flight(self) -> int:
        """Cancel what is still running or queued (at the end of the shutdown grace period)."""
        count = self.in_flight
        for task in [*self._direct, *(q.worker for q in self._queues.values() if q.worker)]:
            task.cancel()
        return count

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


async def _run(job: _Job) -> None:
    """Handle the update; its outcome (or error) goes to the update's own task."""
    try:
        await job.coroutine
    except Exception as exc:  # noqa: BLE001 - handed on to the update's task, not swallowed
        if not job.done.done():
            job.done.set_exception(exc)
    else:
        _resolve(job.done)


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _forget(queue: _ChatQueue, job: _Job) -> None:
    if queue.jobs and queue.jobs[0] is job:
        queue.jobs.popleft()
    elif job in queue.jobs:
        queue.jobs.remove(job)
