"""One process per SQLite database: the lock beside the database, and a second bot refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.storage.errors import StoreInUse
from bot.storage.sqlite.lock import ProcessLock, lock_path
from tests.fakes.telegram import FakeTelegram
from tests.support.botprocess import BotProcess


class TestProcessLock:
    def test_records_the_holder_and_refuses_a_second_claim(self, tmp_path: Path) -> None:
        """The lock file holds this pid (0600); a second claim names it; release frees it."""
        database = tmp_path / "bot.db"
        first = ProcessLock(database)
        first.acquire()
        path = lock_path(database)
        assert path.read_text().strip() == str(os.getpid())
        assert path.stat().st_mode & 0o777 == 0o600
        with pytest.raises(StoreInUse) as refused:
            ProcessLock(database).acquire()
        assert refused.value.holder == os.getpid()
        assert str(os.getpid()) in str(refused.value)
        first.release()
        again = ProcessLock(database)
        again.acquire()  # the file stays, the lock does not
        again.release()

    def test_databases_of_their_own_do_not_conflict(self, tmp_path: Path) -> None:
        """Two bots with their own DATABASE_URL each get their lock."""
        one, two = ProcessLock(tmp_path / "a.db"), ProcessLock(tmp_path / "b.db")
        one.acquire()
        two.acquire()
        one.release()
        two.release()


class TestSecondProcess:
    async def test_a_second_bot_on_the_same_database_exits_1_naming_the_first(
        self, telegram: FakeTelegram, bot_env: dict[str, str]
    ) -> None:
        """The second real process exits with code 1 and says which pid holds the database;
        the first goes on; once the first is killed (-9), a new one starts at once."""
        first = await BotProcess.start(bot_env, telegram)
        try:
            second = await BotProcess.spawn(bot_env)
            assert await second.wait() == 1
            assert f"pid {first.pid}" in second.output
            assert "Could not start: Another bot process" in second.output
            [failed] = second.events("startup_failed")
            assert str(first.pid) in failed["reason"]
            assert first.process.returncode is None
        finally:
            await first.kill()  # no clean-up: the kernel drops the lock with the process
        third = await BotProcess.start(bot_env, telegram)
        assert await third.terminate() == 0
