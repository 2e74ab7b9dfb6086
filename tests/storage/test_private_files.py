"""Private files: the database folder 0700, the database and its -wal/-shm 0600, whatever the
umask; a .env readable by others is reported at start-up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.sqlite import Database
from bot.wiring import warn_if_readable
from tests.support.running import LogCapture


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask of a login shell (022): what is not made private would be 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
class TestDatabaseFiles:
    async def test_a_new_database_is_private(self, tmp_path: Path) -> None:
        """A new folder is 0700; the database, its WAL and shared-memory files are 0600."""
        path = tmp_path / "data" / "bot.db"
        database = Database(path)
        await database.open()
        try:
            await database.write("CREATE TABLE probe (x)")
            await database.write("INSERT INTO probe VALUES (1)")
            wal, shm = path.with_name("bot.db-wal"), path.with_name("bot.db-shm")
            assert wal.exists() and shm.exists()
            assert (mode(path.parent), mode(path), mode(wal), mode(shm)) == (
                0o700, 0o600, 0o600, 0o600,
            )  # fmt: skip
        finally:
            await database.close()

    async def test_an_existing_database_is_made_private(self, tmp_path: Path) -> None:
        """Files an earlier version left 0644 are 0600 once the bot opened them."""
        path = tmp_path / "bot.db"
        first = Database(path)
        await first.open()
        await first.close()
        path.chmod(0o644)
        again = Database(path)
        await again.open()
        try:
            await again.write("CREATE TABLE probe (x)")
            assert mode(path) == 0o600
            assert mode(path.with_name("bot.db-wal")) == 0o600
        finally:
            await again.close()

    async def test_journal_mode_not_wal_is_reported(
        self, tmp_path: Path, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When SQLite answers the switch to WAL with another mode, a warning says which."""
        real = Database.fetch_one

        async def no_wal(self: Database, sql: str, params: object = ()) -> object:
            if "journal_mode" in sql:
                return ("delete",)
            return await real(self, sql, params)  # type: ignore[arg-type]

        monkeypatch.setattr(Database, "fetch_one", no_wal)
        database = Database(tmp_path / "bot.db")
        await database.open()
        await database.close()
        [warning] = logs.named("database_not_wal")
        assert warning["journal_mode"] == "delete" and warning["level"] == "warning"

    async def test_wal_is_in_effect(self, tmp_path: Path, logs: LogCapture) -> None:
        """On a local disk the switch to WAL works, and nothing is reported."""
        database = Database(tmp_path / "bot.db")
        await database.open()
        try:
            row = await database.fetch_one("PRAGMA journal_mode")
            assert row is not None and row[0] == "wal"
        finally:
            await database.close()
        assert not logs.named("database_not_wal")


class TestEnvFile:
    def test_readable_by_others_is_a_warning(self, tmp_path: Path, logs: LogCapture) -> None:
        """A .env that others may read is reported with its mode (never its content)."""
        env = tmp_path / ".env"
        env.write_text("TELEGRAM_BOT_TOKEN=123:never-shown\n")
        env.chmod(0o644)
        warn_if_readable(env)
        [warning] = logs.named("env_file_readable")
        assert warning["mode"] == "0644" and warning["level"] == "warning"
        assert "never-shown" not in logs.text

    @pytest.mark.parametrize("private", [0o600, 0o400])
    def test_private_or_missing_is_quiet(
        self, tmp_path: Path, logs: LogCapture, private: int
    ) -> None:
        env = tmp_path / ".env"
        env.write_text("X=1\n")
        env.chmod(private)
        warn_if_readable(env)
        warn_if_readable(tmp_path / "missing.env")
        assert not logs.named("env_file_readable")
