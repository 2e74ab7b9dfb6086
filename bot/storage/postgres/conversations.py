"""The conversations and current_conversations tables on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import ConversationRecord

if TYPE_CHECKING:
    import asyncpg

_ENSURE = """
    INSERT INTO conversations (base_key, number, created_at, last_used_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (base_key, number) DO NOTHING
"""
_SET_CURRENT = """
    INSERT INTO current_conversations (base_key, number) VALUES ($1, $2)
    ON CONFLICT (base_key) DO UPDATE SET number = excluded.number
"""
_COLUMNS = "number, title, created_at, last_used_at"


def _record(row: asyncpg.Record) -> ConversationRecord:
    return ConversationRecord(int(row[0]), row[1], float(row[2]), float(row[3]))


async def _lock(db: asyncpg.Connection, base_key: str) -> None:
    """Hold the chat's conversations until the transaction ends: /new on two replicas at once
    must not both take the same number (SQLite gets this from its single writer)."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "conversations:" + base_key)


class PostgresConversations:
    """`ConversationRepository` on the conversations and current_conversations tables."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def current(self, base_key: str) -> int:
        value = await self._db.fetch_value(
            "SELECT number FROM current_conversations WHERE base_key = $1", base_key
        )
        return int(value) if value else 1

    async def create(self, base_key: str, *, now: float) -> int:
        async with self._db.transaction() as db:
            await _lock(db, base_key)
            left = await db.fetchval(
                "SELECT number FROM current_conversations WHERE base_key = $1", base_key
            )
            await db.execute(_ENSURE, base_key, int(left or 1), now, now)
            highest = await db.fetchval(
                "SELECT MAX(number) FROM conversations WHERE base_key = $1", base_key
            )
            number = max(int(highest or 1), 1) + 1
            await db.execute(_ENSURE, base_key, number, now, now)
            await db.execute(_SET_CURRENT, base_key, number)
        return number

    async def switch(self, base_key: str, number: int, *, now: float) -> bool:
        async with self._db.transaction() as db:
            await _lock(db, base_key)
            if number != 1 and not await db.fetchval(
                "SELECT 1 FROM conversations WHERE base_key = $1 AND number = $2",
                base_key,
                number,
            ):
                return False
            await db.execute(_ENSURE, base_key, number, now, now)
            await db.execute(
                "UPDATE conversations SET last_used_at = $1 WHERE base_key = $2 AND number = $3",
                now,
                base_key,
                number,
            )
            await db.execute(_SET_CURRENT, base_key, number)
        return True

    async def get(self, base_key: str, number: int) -> ConversationRecord | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM conversations WHERE base_key = $1 AND number = $2",
            base_key,
            number,
        )
        return _record(row) if row else None

    async def recent(self, base_key: str, limit: int) -> list[ConversationRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM conversations WHERE base_key = $1"
            " ORDER BY last_used_at DESC, number DESC LIMIT $2",
            base_key,
            limit,
        )
        return [_record(row) for row in rows]

    async def forget_titles_before(self, cutoff: float) -> int:
        return await self._db.write(
            "UPDATE conversations SET title = NULL WHERE created_at < $1 AND title IS NOT NULL",
            cutoff,
        )

    async def set_title(self, base_key: str, number: int, title: str, *, now: float) -> None:
        async with self._db.transaction() as db:
            await db.execute(_ENSURE, base_key, number, now, now)
            await db.execute(
                "UPDATE conversations SET title = $1 WHERE base_key = $2 AND number = $3",
                title,
                base_key,
                number,
            )
