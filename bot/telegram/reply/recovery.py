"""Finishing what a crash, a shutdown or a failed delivery left unfinished.

At start-up every unfinished Telegram turn is finished: a stored answer is delivered without
asking the model again, a fresh message is answered, a message older than
PENDING_MAX_AGE_SECONDS gets a short apology instead. Each chat's lock is taken before polling
starts, so a chat's old messages are settled before its new ones are handled; the work itself
runs in the background, so polling is not delayed. While the bot runs, the same sweep repeats
every RECOVERY_INTERVAL_SECONDS for answers whose delivery failed.

With several replicas (PostgreSQL) a conversation's turns are finished only by the replica
holding its lease (`Claims`, app/dispatch.py): the sweep skips a conversation another replica
holds, and a replica taking over a dead one's lease finishes that conversation first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from telegram import Bot

from bot.engine.conversation import identity
from bot.engine.conversation.recovery import Action, by_chat
from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.records import Turn
from bot.telegram.reply import outcome
from bot.telegram.reply.answer import answer_turn
from bot.telegram.reply.services import Services

log = get_logger(__name__)

CONCURRENT_CHATS = 8  # chats finished at once (each one in order), to spare the model


class Claims(Protocol):
    """Which conversations this process may finish (several replicas: their leases)."""

    async def hold(self, key: str) -> bool:
        """Hold the conversation (a chat's or topic's base key) while finishing its turns;
        False: another replica has it."""
        ...

    def let_go(self, key: str) -> None:
        """Done with it."""
        ...


class Recovery:
    """Finishes unfinished turns, chat by chat, in each chat's order."""

    def __init__(
        self,
        bot: Bot,
        svc: Services,
        *,
        concurrent_chats: int = CONCURRENT_CHATS,
        claims: Claims | None = None,
    ):
        self._bot = bot
        self._svc = svc
        self._claims = claims
        self._slots = asyncio.Semaphore(concurrent_chats)
        self._tasks: set[asyncio.Task[None]] = set()

    async def resume(self) -> int:
        """Start finishing every unfinished turn; return once each chat's lock is held."""
        claims = await self._spawn_chats()
        await asyncio.gather(*(claimed.wait() for claimed in claims))
        return len(claims)

    async def resume_chat(self, key: str) -> None:
        """Start finishing the unfinished turns of one chat or topic (`key`: its base key, as
        leases name it); return once its lock is held, so its next updates wait for them."""
        claims = await self._spawn_chats(only=key)
        await asyncio.gather(*(claimed.wait() for claimed in claims))

    async def sweep(self) -> int:
        """One pass over the unfinished turns of the chats nobody is busy with right now (a
        busy chat's turns are being answered, or are left for the next pass)."""
        return len(await self._spawn_chats(skip_busy=True))

    async def sweep_every(self, interval: float) -> None:
        """Sweep forever, `interval` seconds apart (cancel to stop)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("recovery_sweep_failed")

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait(self) -> None:
        """Wait for the recovery work under way."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> int:
        """Cancel the work under way (at the end of the shutdown grace period)."""
        for task in self._tasks:
            task.cancel()
        return len(self._tasks)

    async def _spawn_chats(
        self, *, skip_busy: bool = False, only: str | None = None
    ) -> list[asyncio.Event]:
        conversation = self._svc.conversation
        # Only this channel's turns are finished here.
        turns = [t for t in await conversation.unfinished() if identity.is_telegram_chat(t.chat_id)]
        if only is not None:
            turns = [t for t in turns if identity.base_key(t.chat_id) == only]
        claims: list[asyncio.Event] = []
        chats = {
            chat_id: chat_turns
            for chat_id, chat_turns in by_chat(turns).items()
            if not (skip_busy and conversation.locks.busy(identity.base_key(chat_id)))
        }
        started = 0
        for chat_id, chat_turns in chats.items():
            lease = identity.base_key(chat_id)
            if self._claims is not None and not await self._claims.hold(lease):
                continue  # another replica holds it: its turns are that one's to finish
            claimed = asyncio.Event()
            self._spawn(self._finish_chat(chat_id, [t.id for t in chat_turns], claimed, lease))
            claims.append(claimed)
            started += len(chat_turns)
        if claims:
            log.info("recovery_started", chats=len(claims), turns=started)
        return claims

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_chat(
        self, chat_id: str, turn_ids: list[int], claimed: asyncio.Event, lease: str
    ) -> None:
        try:
            # The chat's or topic's lock, as the processor takes it for its new updates.
            async with self._svc.conversation.locks.hold(lease):
                claimed.set()
                async with self._slots:
                    for turn_id in turn_ids:
                        # Read again under the lock: the turn may have been settled meanwhile.
                        turn = await self._svc.conversation.current(turn_id)
                        if turn is not None and turn.unfinished:
                            await self._finish(turn)
        finally:
            claimed.set()  # also when cancelled before the lock was held: nobody waits forever
            if self._claims is not None:
                self._claims.let_go(lease)

    async def _finish(self, turn: Turn) -> None:
        conversation = self._svc.conversation
        action = conversation.recovery_action(turn)
        log.info(
            "turn_recovering",
            turn_id=turn.id,
            chat_key=turn.chat_id,
            state=str(turn.state),
            action=str(action),
            age_s=round(conversation.age(turn), 1),
        )
        try:
            if action is Action.DELIVER:
                await outcome.deliver_stored(self._bot, self._svc, turn)
            elif action is Action.RECORD:
                await conversation.record_delivery(turn)
            elif action is Action.ANSWER:
                await conversation.ready_to_answer(turn)
                async with outcome.settled(self._svc, turn):
                    await answer_turn(self._bot, self._svc, turn)
            elif action is Action.EXPIRE:
                await outcome.expire(self._bot, self._svc, turn)
        except StorageError as exc:
            # The disk is full or locked: the turn stays as it is, the next sweep tries again.
            log.warning("turn_recovery_postponed", turn_id=turn.id, error=str(exc))
        except Exception:
            # A bug must not keep the chat's other turns waiting.
            log.exception("turn_recovery_failed", turn_id=turn.id, chat_key=turn.chat_id)
