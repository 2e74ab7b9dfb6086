"""End to end: how often an answer crosses to SQLite's thread (aiosqlite hands every call to
its own thread and back; each crossing costs CPU on both sides, docs/performance.md)."""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiosqlite
import pytest

from tests.support.chats import PRIVATE, answer_in
from tests.support.running import RunningBot
from tests.support.waiting import quiet_for

HOPS_PER_ANSWER = 6
"""Store the message; the chat's settings; its newest turns with their files; the answer with
its usage; answered. Then the chat's /voice choice. Was 9 before issue 20's third round (the
answer's chat and user read apart from storing it; the files apart from the turns), 7 before
its fourth (the files of a text message, which has none, read before the model was asked)."""

CALIBRATING = 1
"""While the token calibration learns (its first ten samples), each answer also saves it."""

ANSWERS = 3


def caller() -> str:
    """The repository method that crossed (the innermost frame in bot/storage/sqlite/ that is
    not the database module itself)."""
    for frame in reversed(traceback.extract_stack()):
        path = frame.filename.replace("\\", "/")
        if "/bot/storage/sqlite/" in path and not path.endswith("/database.py"):
            return f"{path.rsplit('/', 1)[-1]}:{frame.name}"
    return "?"


def count_hops(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on, every hand-over to aiosqlite's thread, counted by the method that made it."""
    hops: Counter[str] = Counter()
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        hops[caller()] += 1
        return await original(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return hops


class TestHopsPerAnswer:
    async def test_an_answer_crosses_to_sqlite_a_fixed_number_of_times(
        self, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each answered private message hands work to SQLite's thread HOPS_PER_ANSWER times
        (plus the calibration's save while it learns); more means a merged call came apart."""
        bot.telegram.send_private_text(PRIVATE, "warm up")  # loads the calibration, once
        await answer_in(bot, PRIVATE, 1)
        await quiet_for(bot)
        hops = count_hops(monkeypatch)
        for n in range(2, 2 + ANSWERS):
            bot.telegram.send_private_text(PRIVATE, f"message {n}")
            await answer_in(bot, PRIVATE, n)
            await quiet_for(bot)
        assert hops.total() == ANSWERS * (HOPS_PER_ANSWER + CALIBRATING), dict(hops)
        assert hops["calibrations.py:save"] == ANSWERS * CALIBRATING
        assert not hops["attachments.py:of_turns"], dict(hops)  # a text message has no files
