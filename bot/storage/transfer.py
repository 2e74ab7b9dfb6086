"""Copying a SQLite database into PostgreSQL (`python -m bot migrate-db`).

Idempotent and resumable: every row is upserted by its primary key, one batch per
transaction, so a second run (or a run after an interrupted one) changes nothing that is
already there and finishes what is not. Ids are copied as they are, and the identity
sequences are moved past them, so the bot goes on numbering where SQLite stopped. At the end
each table's rows are counted on both sides: the copy is verified only if they match.

The SQLite file is claimed with the bot's own process lock (stop the bot first) and brought
to the newest schema; the PostgreSQL database too, so both have the same tables and columns
(tests/storage/test_postgres.py checks that the two dialects agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import Database, ProcessLock

# Every table, with its primary key (the upsert's conflict target).
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("chats", ("chat_id",)),
    ("turns", ("id",)),
    ("usage", ("id",)),
    ("chat_summaries", ("chat_id",)),
    ("token_calibration", ("model",)),
    ("usage_days", ("day",)),
    ("usage_user_days", ("user_id", "day")),
    ("conversations", ("base_key", "number")),
    ("current_conversations", ("base_key",)),
    ("attachments", ("id",)),
    ("chat_media", ("chat_id",)),
)
IDENTITIES = ("turns", "usage", "attachments")  # tables whose ids PostgreSQL generates afterwards


@dataclass(frozen=True)
class TableCount:
    """One table after the copy: its rows in SQLite and in PostgreSQL."""

    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


Progress = Callable[[str, int], None]  # (table, rows copied so far)


async def copy_database(
    source: Path, target_url: str, *, batch: int = 1000, progress: Progress | None = None
) -> list[TableCount]:
    """Copy every table of the SQLite file `source` into the PostgreSQL database of
    `target_url`; each table's row counts on both sides (StoreInUse: the bot holds `source`;
    StorageError: either database failed)."""
    claim = ProcessLock(source)
    claim.acquire()
    lite, pg = Database(source), PostgresDatabase(target_url, max_size=2)
    try:
        await lite.open()
        await pg.open()
        copy = _Copy(lite, pg, batch, progress)
        for table, key in TABLES:
            await copy.table(table, key)
        for table in IDENTITIES:
            await pg.fetch_value(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )
        return [await copy.count(table) for table, _ in TABLES]
    finally:
        await pg.close()
        await lite.close()
        claim.release()


@dataclass(frozen=True)
class _Copy:
    """One copy in progress (table and column names come from TABLES and SQLite's own
    catalogue, never from input)."""

    lite: Database
    pg: PostgresDatabase
    batch: int
    progress: Progress | None

    async def table(self, table: str, key: tuple[str, ...]) -> None:
        """Upsert the table's rows in key order, `batch` rows per transaction."""
        info = await self.lite.fetch_all(f"PRAGMA table_info({table})")
        columns = [str(row[1]) for row in info]
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        update = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
        upsert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            f" ON CONFLICT ({', '.join(key)}) {action}"
        )
        select = f"SELECT {', '.join(columns)} FROM {table}"
        done, after = 0, None
        while rows := await self._page(select, key, after):
            await self.pg.write_many(upsert, [tuple(row) for row in rows])
            done += len(rows)
            after = tuple(rows[-1][columns.index(k)] for k in key)
            if self.progress is not None:
                self.progress(table, done)

    async def _page(
        self, select: str, key: tuple[str, ...], after: Sequence[Any] | None
    ) -> list[Any]:
        """The next rows after the key `after` (keyset paging: no OFFSET scans)."""
        order = ", ".join(key)
        if after is None:
            return await self.lite.fetch_all(f"{select} ORDER BY {order} LIMIT ?", (self.batch,))
        holes = ", ".join("?" * len(key))
        return await self.lite.fetch_all(
            f"{select} WHERE ({order}) > ({holes}) ORDER BY {order} LIMIT ?",
            (*after, self.batch),
        )

    async def count(self, table: str) -> TableCount:
        row = await self.lite.fetch_one(f"SELECT COUNT(*) FROM {table}")
        target = await self.pg.fetch_value(f"SELECT COUNT(*) FROM {table}")
        return TableCount(table, int(row[0]) if row else 0, int(target or 0))
