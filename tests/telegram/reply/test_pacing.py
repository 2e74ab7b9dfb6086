"""Per-chat pacing of streamed updates: interval, flood pauses, the group window."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.telegram.reply.pacing import GROUP_UPDATES_PER_WINDOW, ChatPacer, sleep_until

PRIVATE = 1001
OTHER = 1002
GROUP = -100500


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestChatPacer:
    def test_new_chat_is_ready_now(self) -> None:
        """A chat never updated may be updated at once."""
        clock = Clock()
        assert ChatPacer(clock).ready_at(PRIVATE, 1.0) == clock.now

    def test_interval_after_an_update(self) -> None:
        """After an update the chat waits the interval, counted from the end of the call."""
        clock = Clock()
        pacer = ChatPacer(clock)
        pacer.updated(PRIVATE)
        assert pacer.ready_at(PRIVATE, 1.0) == clock.now + 1.0

    def test_pause_affects_only_that_chat(self) -> None:
        """A flood pause holds back its chat and no other."""
        clock = Clock()
        pacer = ChatPacer(clock)
        until = pacer.pause(PRIVATE, 2.0)
        assert until == clock.now + 2.0
        assert pacer.ready_at(PRIVATE, 1.0) == until
        assert pacer.paused_until(PRIVATE) == until
        assert pacer.ready_at(OTHER, 1.0) == clock.now
        assert pacer.paused_until(OTHER) < clock.now

    def test_pause_never_shortens(self) -> None:
        """A shorter retry_after does not cut a longer pause short."""
        pacer = ChatPacer(Clock())
        until = pacer.pause(PRIVATE, 5.0)
        assert pacer.pause(PRIVATE, 1.0) == until

    def test_group_window(self) -> None:
        """A group updated 20 times within a minute waits until the oldest leaves the window."""
        clock = Clock()
        pacer = ChatPacer(clock)
        first = clock.now
        for _ in range(GROUP_UPDATES_PER_WINDOW):
            pacer.updated(GROUP)
            clock.now += 1.0
        assert pacer.ready_at(GROUP, 1.0) == first + 60.0
        assert pacer.ready_at(GROUP, 1.0, window=False) == clock.now

    def test_private_chats_have_no_window(self) -> None:
        """The per-minute window applies to groups only."""
        clock = Clock()
        pacer = ChatPacer(clock)
        for _ in range(GROUP_UPDATES_PER_WINDOW * 2):
            pacer.updated(PRIVATE)
            clock.now += 1.0
        assert pacer.ready_at(PRIVATE, 1.0) == clock.now

    def test_idle_chats_are_forgotten(self) -> None:
        """Many chats long idle do not accumulate: they are swept when the table grows."""
        clock = Clock()
        pacer = ChatPacer(clock)
        for chat_id in range(1, 1001):
            pacer.updated(chat_id)
        clock.now += 500
        pacer.updated(5000)
        assert len(pacer) == 1


class TestSleepUntil:
    def test_never_wakes_before_the_deadline_under_uvloop(self) -> None:
        """uvloop's millisecond timers fire early (a third of plain sleeps did): an update sent
        before the pacer's time can be a 429."""
        uvloop = pytest.importorskip("uvloop")

        async def run() -> list[float]:
            early = []
            for i in range(50):
                deadline = time.monotonic() + 0.0031 + i * 0.0001
                await sleep_until(deadline)
                if (now := time.monotonic()) < deadline:
                    early.append(deadline - now)
            return early

        assert uvloop.run(run()) == []

    def test_a_past_deadline_does_not_wait(self) -> None:
        async def run() -> float:
            started = time.monotonic()
            await sleep_until(started - 5)
            return time.monotonic() - started

        assert asyncio.run(run()) < 0.5
