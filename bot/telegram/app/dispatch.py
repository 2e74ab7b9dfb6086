"""Every replica answers (PostgreSQL): each conversation is worked on by the one replica
holding its lease, in update_id order, and handed over when idle or when its holder dies.

The dispatcher wakes when any replica records an update (LISTEN/NOTIFY, inbox.py) and every
POLL_SECONDS in any case. It hands its processor the new updates of the conversations it
holds, then claims each conversation with updates waiting and no live lease (one statement,
which one replica wins) and hands those over. The processor keeps each conversation's order,
as in one process. A handled update is settled (deleted); a conversation idle for
LINGER_SECONDS is let go. Leases are renewed every LEASE_SECONDS / 3: a dead replica's are
taken over after LEASE_SECONDS, and the new holder first finishes the turn the dead one left
(crash recovery of that conversation), then what waits. A stopping replica gives its leases
up once its work is done. Leases also gate recovery's sweep (recovery.py `Claims`), so no two
replicas finish the same turn. Design and failure behaviour: docs/operations.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.telegram.app.inbox import Dead, Inbox, Leases, expire_dead, fill_keys

log = get_logger(__name__)

POLL_SECONDS = 2.0  # the inbox is read this often even when no notification arrives
# An idle conversation's lease is kept this long before it is given up: a quick next message
# stays with the replica that knows the chat's pacing (reply/pacing.py: Telegram's 429 for
# a chat updated again within about a second) and its caches.
LINGER_SECONDS = 2.0
BATCH = 200  # updates or conversations read at once
Recover = Callable[[str], Awaitable[None]]
"""Finish a conversation's unfinished turns left by a dead holder; returns once the
conversation's lock is held for that, so what is handed over next waits for it."""


@dataclass(eq=False)
class _Held:
    fed: set[int] = field(default_factory=set)  # update ids handed over, not settled yet
    users: int = 0  # recovery work under way on the conversation
    idle_at: float = 0.0  # when it last had nothing in flight (time.monotonic())
    release: asyncio.Task[None] | None = None  # giving the lease up once it has lingered


class Dispatcher:
    """This replica's share of the conversations (see the module docstring)."""

    def __init__(
        self,
        inbox: Inbox,
        leases: Leases,
        *,
        holder: str,
        lease_seconds: float,
        queue: Any,
        bot: Bot,
        poll_seconds: float = POLL_SECONDS,
        linger_seconds: float = LINGER_SECONDS,
        dead: Dead | None = None,
    ) -> None:
        self._inbox, self._leases = inbox, leases
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._queue = queue  # the application's update queue (its processor takes them)
        self._bot = bot
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self._dead = dead
        self.recover: Recover | None = None  # set once recovery exists (run.py)
        self._held: dict[str, _Held] = {}
        self._keys: dict[int, str] = {}  # handed-over update -> its conversation
        self._leasing = asyncio.Lock()  # claims and releases one at a time, never interleaved
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._releasing: set[asyncio.Task[None]] = set()
        self.dispatching = False

    @property
    def held(self) -> frozenset[str]:
        """The conversations this replica holds the lease of."""
        return frozenset(self._held)

    def start(self) -> None:
        """Start taking conversations: listening, reading the inbox, renewing leases."""
        self.dispatching = True
        self._tasks = [
            asyncio.create_task(self._pump_forever(), name="dispatch"),
            asyncio.create_task(self._inbox.listen(self.wake), name="dispatch-listen"),
            asyncio.create_task(self._renew_forever(), name="dispatch-renew"),
        ]

    def wake(self, _chat_key: str = "") -> None:
        """Read the inbox soon (an update was recorded, here or by another replica)."""
        self._wake.set()

    async def stop_taking(self) -> None:
        """Take no more conversations and hand nothing more over (shutdown's first step);
        leases are still renewed until `close`."""
        self.dispatching = False
        await _cancel(self._tasks[:2])

    async def close(self) -> None:
        """Give up every lease (after the processor has finished or been cancelled)."""
        self.dispatching = False
        await _cancel(self._tasks)
        await _cancel(list(self._releasing))
        self._held.clear()
        try:
            released = await self._leases.release_all(self.holder)
        except StorageError as exc:  # they expire by themselves after LEASE_SECONDS
            log.warning("leases_release_failed", error=str(exc))
        else:
            log.info("leases_released", leases=released)

    async def releases_done(self) -> None:
        """Wait for the lease releases under way (each runs in a task of its own)."""
        while self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)  # cancelled too

    async def pump(self, *, keyless: bool = True) -> None:
        """Hand over what waits: new updates of held conversations, then free conversations
        (`keyless`: first give updates recorded before migration 1002 their key, and end the
        leases of replicas known to be dead)."""
        if keyless:
            await fill_keys(self._inbox, self._bot, BATCH)
            if self._dead is not None:
                await expire_dead(self._leases, self._dead)
        if self._held:
            await self._feed(list(self._held))
        for key in await self._inbox.free_chats(BATCH):
            if not self.dispatching:
                return
            if key not in self._held and await self._take(key):
                await self._feed([key])
                # Its updates may all have been handled by the previous holder meanwhile:
                # nothing to hand over, so nothing would ever let the lease go.
                self._release_if_idle(key)

    async def hold(self, key: str) -> bool:
        """Hold the conversation for recovery work (True), unless another replica has it."""
        async with self._leasing:
            held = self._held.get(key)
            if held is None:
                if await self._claim(key) is None:  # "" is a claim: nobody held it
                    return False
                held = self._held.setdefault(key, _Held())
            held.users += 1
            return True

    def let_go(self, key: str) -> None:
        """The recovery work `hold` was for is done."""
        held = self._held.get(key)
        if held is not None:
            held.users -= 1
            self._release_if_idle(key)

    async def settled(self, update: Update) -> None:
        """The processor is done with an update: forget it in the inbox; the conversation
        may be idle now."""
        try:
            await self._inbox.settle(update.update_id)
        except StorageError as exc:  # read again and handed over again: a duplicate then
            log.warning("inbox_settle_failed", update_id=update.update_id, error=str(exc))
        key = self._keys.pop(update.update_id, None)
        held = self._held.get(key) if key is not None else None
        if key is not None and held is not None:
            held.fed.discard(update.update_id)
            self._release_if_idle(key)

    async def _take(self, key: str) -> bool:
        """Claim a free conversation; if it was taken over from a holder that stopped
        renewing, finish what that one left first."""
        async with self._leasing:
            if key in self._held:
                return True
            previous = await self._claim(key)
            if previous is None:
                return False
            self._held[key] = _Held()
        if previous and self.recover is not None:
            await self.recover(key)
        return True

    async def _claim(self, key: str) -> str | None:
        """Claim a conversation not held here: None when another replica holds it, else the
        holder it was taken from ("": none; this replica's own name: a previous run's)."""
        previous = await self._leases.claim(key, self.holder, self.lease_seconds)
        if previous:
            log.warning("lease_taken_over", chat_key=key, previous=previous)
        return previous

    async def _feed(self, keys: list[str]) -> None:
        besides = list(self._keys)
        for update_id, key, payload in await self._inbox.of_chats(
            keys, besides=besides, limit=BATCH
        ):
            held = self._held.get(key)
            if held is None or update_id in self._keys:
                continue  # released meanwhile (read again by whoever holds it next)
            held.fed.add(update_id)
            self._keys[update_id] = key
            await self._queue.put(Update.de_json(json.loads(payload), self._bot))

    def _release_if_idle(self, key: str) -> None:
        """Once nothing of the conversation is in flight, give its lease up after it has
        lingered (a release already waiting starts over)."""
        held = self._held.get(key)
        if held is not None and not held.fed and held.users <= 0:
            held.idle_at = time.monotonic()
            if held.release is None or held.release.done():
                held.release = self._spawn(self._release(key))

    async def _release(self, key: str) -> None:
        """Hand over what arrived meanwhile, or give the lease up (then look again: an update
        recorded between the last read and the release belongs to whoever claims it)."""
        try:
            if self.dispatching:  # what waited while recovery finished the conversation's turns
                await self._feed([key])
            while (held := self._held.get(key)) is not None and not held.fed:
                left = held.idle_at + self.linger_seconds - time.monotonic()
                if left <= 0:
                    break
                await asyncio.sleep(left)
            if self.dispatching:
                await self._feed([key])
            async with self._leasing:
                held = self._held.get(key)
                if held is None or held.fed or held.users > 0:
                    return
                del self._held[key]
                await self._leases.release(key, self.holder)
        except StorageError as exc:  # the lease expires by itself; the sweep reads again
            log.warning("lease_release_failed", chat_key=key, error=str(exc))
        self.wake()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)
        return task

    async def _pump_forever(self) -> None:
        last_slow = -self.poll_seconds  # at start, then every poll_seconds even when busy
        while True:
            self._wake.clear()
            slow = time.monotonic() - last_slow >= self.poll_seconds
            if slow:  # also: keyless updates, and the leases of dead replicas
                last_slow = time.monotonic()
            try:
                await self.pump(keyless=slow)
            except StorageError as exc:
                log.warning("dispatch_failed", error=str(exc))
                await asyncio.sleep(self.poll_seconds)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
            # that arrives as the event is set, and this loop would never end at shutdown.
            with suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._held:
                continue
            async with self._leasing:  # no claim or release between the renewal and the check
                held = list(self._held)
                try:
                    still = set(await self._leases.renew(self.holder, held, self.lease_seconds))
                except StorageError as exc:
                    log.warning("lease_renew_failed", error=str(exc))
                    continue
                lost = set(held) - still
            for key in lost:
                # Held past its expiry (this replica stalled) and taken by another: the turn
                # under way may be finished twice (docs/operations.md, "Running several
                # replicas"). Nothing more of it is handed over here.
                self._held.pop(key, None)
                log.error("lease_lost", chat_key=key)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task
