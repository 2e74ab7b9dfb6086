"""One SQLite file through aiosqlite: WAL, versioned migrations, a write lock, transactions.

Durability: WAL with synchronous=NORMAL. A process crash (even kill -9) never loses a committed
transaction and never corrupts the file; only a power cut can lose the last few commits, which
costs far less than fsync-ing every message on a small server's disk.

Failures: every driver error leaves this module as `StorageError` (translated here, once, for
every repository). A write that fails (locked, read-only, full or failing disk) is rolled back
whole, and the connection stays usable, so the next operation succeeds as soon as the disk does.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.files import make_private, open_private

log = get_logger(__name__)

_SIDE_FILES = ("-wal", "-shm", "-journal")
Params = Sequence[Any] | Mapping[str, Any]
T = TypeVar("T")
Row = sqlite3.Row  # what aiosqlite's cursors return (a tuple unless a row factory is set)


def migrations() -> list[tuple[int, str]]:
    """The numbered SQL scripts (version, text) in migrations/, oldest first."""
    folder = resources.files(__package__) / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


@contextmanager
def translated() -> Iterator[None]:
    """The driver's errors leave the block as StorageError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(str(exc)) from exc


class Database:
    """The connection to one SQLite file that every repository shares."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._connection: aiosqlite.Connection | None = None
        # One connection serves every chat; a write that interleaved with another task's open
        # transaction would silently join it, so writes take turns.
        self._write = asyncio.Lock()

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError("the database is not open")
        return self._connection

    async def open(self) -> None:
        """Open (creating the folder 0700 and the file 0600 if needed) and bring the schema up
        to date. The file and its -wal/-shm files are made 0600 if they were not."""
        with translated():
            self._create_private()
            self._connection = await aiosqlite.connect(self.path, isolation_level=None)
            db = self.connection
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await self._journal_in_wal()
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await self._migrate()

    def _create_private(self) -> None:
        """The file exists, 0600, before SQLite opens it: SQLite gives the -wal and -shm files
        it creates the database file's mode."""
        try:
            os.close(open_private(self.path))
        except OSError as exc:
            message = f"unable to open database file ({exc.strerror})"
            raise sqlite3.OperationalError(message) from exc
        make_private(self.path, *(self.path.with_name(self.path.name + s) for s in _SIDE_FILES))

    async def _journal_in_wal(self) -> None:
        """Switch to WAL. SQLite answers with the mode in effect, which is not WAL on file
        systems without shared memory (some network mounts): the bot still works (a rollback
        journal is as safe, only slower for reads during writes), so this is a warning."""
        row = await self.fetch_one("PRAGMA journal_mode = WAL")
        mode = str(row[0]).lower() if row else "unknown"
        if mode != "wal":
            log.warning("database_not_wal", journal_mode=mode, path=str(self.path))

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, script in migrations():
            if version <= current:
                continue
            # executescript commits on its own, so the version bump goes inside the script:
            # a migration and its version number land together or not at all.
            await self.connection.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        """The number of the newest migration applied."""
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def ping(self) -> None:
        """Raise StorageError unless the database answers a trivial query."""
        await self.fetch_one("SELECT 1")

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query that finds at most one (every caller's is keyed or LIMITed)."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row, in one trip to aiosqlite's thread (a cursor would take three: execute,
        fetch, close; each trip is a hand-over between threads, ~0.1 ms of the loop's CPU)."""
        with translated():
            return list(await self.connection.execute_fetchall(sql, params))

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work`'s queries on the raw connection in one trip to aiosqlite's thread (reads
        that belong together, which would otherwise take a trip each). `work` runs in that
        thread, so it must only run statements (no awaiting, no loop); it opens no
        transaction, as `fetch_all` does not. See `atomic` for the private `_execute`."""
        connection = self.connection
        with translated():
            done: T = await connection._execute(work, connection._conn)  # private: see atomic
            return done

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for statements that commit one by one, while no other write runs."""
        with translated():
            async with self._write:
                yield self.connection

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one statement that commits on its own; how many rows it changed."""
        async with self.writing() as db:
            cursor = await db.execute(sql, params)  # one trip: the cursor needs no closing
            return cursor.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block's statements atomically: all of them commit, or none."""
        async with self.writing() as db:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def batch(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Run `statements` atomically (all commit, or none), as `transaction()` does, but in
        one trip to aiosqlite's thread instead of one per statement plus BEGIN and COMMIT
        (storing an answer and its usage was 8 trips, ~24 µs of CPU each); how many rows
        each statement changed."""

        def run(raw: sqlite3.Connection) -> list[int]:
            return [raw.execute(sql, params).rowcount for sql, params in statements]

        return await self.atomic(run)

    async def atomic(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the raw connection in one transaction (it commits if `work` returns,
        rolls back if it raises) and in one trip to aiosqlite's thread: for a write whose
        statements depend on what an earlier one found, which `batch` cannot express.
        `work` runs in that thread, so it must only run statements (no awaiting, no loop).

        aiosqlite has no public call for "run this function in your thread", so this uses
        its `_execute` (stable since aiosqlite 0.1; the version is pinned below 1). Once
        started, the work runs to its end even if the awaiting task is cancelled, as a
        single statement always did: it commits or rolls back whole.
        """
        connection = self.connection

        def run() -> T:
            raw: sqlite3.Connection = connection._conn  # private: see above
            raw.execute("BEGIN IMMEDIATE")
            try:
                result = work(raw)
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    with suppress(sqlite3.Error):
                        raw.execute("ROLLBACK")
                raise
            return result

        with translated():
            async with self._write:
                done: T = await connection._execute(run)
                return done

    async def _rollback(self) -> None:
        """End a failed transaction, whatever state it is in.

        SQLite rolls back by itself after some failures (a full or failing disk during
        COMMIT); after others (a failed statement, "database is locked" at COMMIT) the
        transaction stays open and would swallow every later write if left so.
        """
        if self.connection.in_transaction:
            with suppress(sqlite3.Error):
                await self.connection.execute("ROLLBACK")
