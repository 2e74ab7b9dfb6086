"""PerChatUpdateProcessor: order within a chat, no slot held while waiting, admission, shutdown."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.engine.conversation.ordering import ChatLocks
from bot.telegram.app.processor import PerChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat, text="hi"))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class TestPerChatUpdateProcessor:
    async def test_order_kept_whatever_the_admission_takes(self) -> None:
        """Updates of one chat run in arrival order even when admissions finish out of order."""
        ran: list[int] = []

        async def admit(_update: Update) -> bool:
            await asyncio.sleep(random.random() / 100)
            return True

        async def handle(n: int) -> None:
            ran.append(n)

        processor = PerChatUpdateProcessor(ChatLocks(), max_queued_per_chat=50, admit=admit)
        await asyncio.gather(
            *(processor.process_update(update(n, 1), handle(n)) for n in range(30))
        )
        assert ran == list(range(30))
        assert processor.in_flight == 0

    async def test_waiting_holds_no_slot(self) -> None:
        """With one global slot, chat 2 runs while chat 1 has updates waiting for chat 1."""
        release = asyncio.Event()
        ran: list[str] = []

        async def slow(name: str) -> None:
            ran.append(name)
            await release.wait()

        async def quick(name: str) -> None:
            ran.append(name)

        processor = PerChatUpdateProcessor(ChatLocks(), max_concurrent=1)
        first = asyncio.create_task(processor.process_update(update(1, 1), slow("a1")))
        waiting = [
            asyncio.create_task(processor.process_update(update(n, 1), quick(f"a{n}")))
            for n in range(2, 6)
        ]
        await settle()
        assert processor.in_flight == 5
        release.set()  # chat 1's first update lets go of the only slot...
        other = asyncio.create_task(processor.process_update(update(9, 2), quick("b")))
        await asyncio.gather(first, other, *waiting)
        assert ran[0] == "a1"
        assert [r for r in ran if r.startswith("a")] == ["a1", "a2", "a3", "a4", "a5"]

    async def test_refused_and_dropped_never_run(self) -> None:
        """A refused update never runs; beyond the cap updates are dropped, the chat told once."""
        release = asyncio.Event()
        ran: list[int] = []
        told: list[int] = []

        async def admit(u: Update) -> bool:
            return u.update_id != 2

        async def tell(u: Update) -> None:
            told.append(u.update_id)

        async def handle(n: int) -> None:
            ran.append(n)
            await release.wait()

        processor = PerChatUpdateProcessor(
            ChatLocks(), max_queued_per_chat=2, admit=admit, tell_dropped=tell
        )
        tasks = [
            asyncio.create_task(processor.process_update(update(n, 1), handle(n)))
            for n in range(1, 7)
        ]
        await settle()
        release.set()
        await asyncio.gather(*tasks)
        assert ran == [1, 3]
        assert told == [4]

    async def test_cancel_in_flight_ends_running_and_queued(self) -> None:
        """At the end of the grace period the running and the queued updates are cancelled."""
        never = asyncio.Event()
        processor = PerChatUpdateProcessor(ChatLocks())
        tasks = [
            asyncio.create_task(processor.process_update(update(n, 1), never.wait()))
            for n in range(3)
        ]
        await settle()
        assert processor.in_flight == 3
        assert processor.cancel_in_flight() == 3
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert processor.in_flight == 0
