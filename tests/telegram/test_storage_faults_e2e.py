"""End to end: the database fails under the running bot (locked by another process, read-only,
a full disk). The bot keeps running, tells the user, and works again once the disk does."""

from __future__ import annotations

import asyncio
import resource
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine import errors
from bot.storage.sqlite import Database
from bot.wiring import stores as wiring_stores
from tests.fakes.openai import Block
from tests.fakes.telegram import ApiCall
from tests.support.botprocess import BotProcess
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import database, integrity, stored_turns
from tests.support.running import LogCapture, RunningBot

STORAGE_MESSAGE = errors.StorageUnavailable.user_message


@pytest.fixture
def storages(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Database]]:
    """The bot's databases (from its next start), waiting 0.2 s on a locked database."""
    made: list[Database] = []

    class Recorded(Database):
        def __init__(self, path: Path, *, busy_timeout_ms: int = 200) -> None:
            super().__init__(path, busy_timeout_ms=busy_timeout_ms)
            made.append(self)

    monkeypatch.setattr(wiring_stores, "Database", Recorded)
    yield made


async def say(bot: RunningBot, text: str, count: int) -> str:
    bot.telegram.send_private_text(PRIVATE, text)
    return await answer_in(bot, PRIVATE, count, timeout=30)


class TestInProcess:
    async def test_locked_by_another_process(
        self, bot: RunningBot, logs: LogCapture, storages: list[Database]
    ) -> None:
        """A database locked by another process: the user is told; once the lock is gone the
        next message is answered."""
        await bot.restart()
        other = sqlite3.connect(database(bot), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            assert await say(bot, "one", 1) == STORAGE_MESSAGE
        finally:
            other.execute("ROLLBACK")
            other.close()
        [error] = logs.named("handler_error")
        assert error["error_type"] == "StorageError"
        assert await say(bot, "two", 2) == "echo: two"
        await logs.wait_for("reply_finished")
        assert stored_turns(bot) == [("two", "answered", None)]

    async def test_read_only(
        self, bot: RunningBot, logs: LogCapture, storages: list[Database]
    ) -> None:
        """A database that refuses writes: the user is told, /stats still reads, and the bot
        works again as soon as writes are allowed."""
        await bot.restart()
        await say(bot, "one", 1)
        await logs.wait_for("reply_finished")
        [storage] = storages
        await storage.connection.execute("PRAGMA query_only = ON")  # SQLITE_READONLY on every write
        assert await say(bot, "two", 2) == STORAGE_MESSAGE
        assert "Messages in memory: 2" in await say(bot, "/stats", 3)
        await storage.connection.execute("PRAGMA query_only = OFF")
        assert await say(bot, "three", 4) == "echo: three"
        assert [t[0] for t in stored_turns(bot)] == ["one", "three"]
        assert bot.model.requests[-1].messages[-3]["content"] == "one"


def limit_file_size(pid: int, limit: int) -> None:
    """RLIMIT_FSIZE of another process: every write past `limit` bytes fails, as on a full disk."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


class TestFullDisk:
    async def test_full_disk_then_back(self, bot: RunningBot) -> None:
        """Writes fail (a full disk) under a running bot process: a new message gets a short
        note; a message stored before the disk filled is answered once it is back; no
        corruption."""
        await bot.stop()
        env = {**bot.env, "RECOVERY_INTERVAL_SECONDS": "0.5"}
        process = await BotProcess.start(env, bot.telegram)
        try:
            assert await say(bot, "one", 1) == "echo: one"
            await process.wait_for("reply_finished")
            limit_file_size(process.pid, 1)
            assert await say(bot, "two", 2) == STORAGE_MESSAGE
            # Stored just before the disk filled: its answer cannot be kept.
            limit_file_size(process.pid, resource.RLIM_INFINITY)
            release = asyncio.Event()
            bot.model.script(Block(release))
            bot.telegram.send_private_text(PRIVATE, "three")
            await bot.model.wait_for_requests(2, timeout=30)
            limit_file_size(process.pid, 1)
            release.set()
            assert await answer_in(bot, PRIVATE, 3, timeout=30) == STORAGE_MESSAGE
            # Two sweeps find the turn while the disk is full, and put it off without the model.
            postponed = len(process.events("turn_recovery_postponed"))
            await process.wait_for("turn_recovery_postponed", postponed + 2)
            assert len(bot.model.requests) == 2
            limit_file_size(process.pid, resource.RLIM_INFINITY)
            assert await answer_in(bot, PRIVATE, 4, timeout=30) == "echo: three"
            assert await say(bot, "four", 5) == "echo: four"
            assert process.events("turn_recovery_postponed")
        finally:
            limit_file_size(process.pid, resource.RLIM_INFINITY)
            code = await process.terminate()
        assert code == 0
        assert [m["content"] for m in bot.model.requests[-1].messages[1:]] == [
            "one",
            "echo: one",
            "three",
            "echo: three",
            "four",
        ]
        assert integrity(database(bot)) == "ok"


class TestRecordRefusedAfterDelivery:
    async def test_answer_not_sent_twice(
        self, bot: RunningBot, logs: LogCapture, storages: list[Database]
    ) -> None:
        """The answer reached the user but the database refused to record it: no storage
        message follows the answer, and once writes work the turn is recorded, not re-sent."""
        await bot.restart(RECOVERY_INTERVAL_SECONDS="0.3")
        [storage] = storages

        async def refuse_writes(call: ApiCall) -> None:
            if call.params.get("text") == "echo: question":
                await storage.connection.execute("PRAGMA query_only = ON")

        bot.telegram.on_call("sendMessage", refuse_writes)
        assert await say(bot, "question", 1) == "echo: question"
        await logs.wait_for("delivery_unrecorded")
        assert stored_turns(bot) == [("question", "generated", None)]
        await storage.connection.execute("PRAGMA query_only = OFF")
        for _ in range(200):
            if stored_turns(bot) == [("question", "answered", None)]:
                break
            await asyncio.sleep(0.05)
        assert stored_turns(bot) == [("question", "answered", None)]
        assert {e["action"] for e in logs.named("turn_recovering")} == {"record"}
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: question"]
        assert logs.named("handler_error") == []
