"""InFlight: a stop cancels the generation and is taken back; any other cancellation wins."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine.conversation.stopping import InFlight, Progress, Stopped
from bot.storage.records import Turn, TurnState

TURN = Turn(id=3, chat_id="tg:1", user_text="q", state=TurnState.PENDING, created_at=0.0)


async def generate(in_flight: InFlight, started: asyncio.Event) -> str:
    async with in_flight.running(TURN) as progress:
        await progress.watch(None)("partial")
        started.set()
        await asyncio.sleep(60)
    return "finished"


class TestInFlight:
    async def test_stop_raises_stopped_with_the_part_written(self) -> None:
        """A stop ends the generation with Stopped(progress); the task is not left cancelled."""
        in_flight, started = InFlight(), asyncio.Event()
        task = asyncio.create_task(generate(in_flight, started))
        await started.wait()
        assert in_flight.turn("tg:1") == TURN
        assert in_flight.stop("tg:1", turn_id=4) is None  # another turn's button: nothing
        assert in_flight.stop("tg:1") == TURN
        with pytest.raises(Stopped) as stopped:
            await task
        assert stopped.value.progress.text == "partial"
        assert in_flight.turn("tg:1") is None
        assert in_flight.stop("tg:1") is None

    async def test_shutdown_cancellation_is_not_a_stop(self) -> None:
        """Cancelled from elsewhere as well, the task is cancelled, not stopped."""
        in_flight, started = InFlight(), asyncio.Event()
        task = asyncio.create_task(generate(in_flight, started))
        await started.wait()
        in_flight.stop("tg:1")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def test_watch_forwards_chunks(self) -> None:
        """The watched callback keeps the text and still hands each chunk on."""
        seen: list[str] = []

        async def on_delta(chunk: str) -> None:
            seen.append(chunk)

        progress = Progress()
        receive = progress.watch(on_delta)
        await receive("a")
        await receive("b")
        assert (progress.text, seen) == ("ab", ["a", "b"])
