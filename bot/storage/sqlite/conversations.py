"""The conversations and current_conversations tables: a chat's numbered conversations."""

from __future__ import annotations

from bot.storage.records import ConversationRecord
from bot.storage.sqlite.database import Database

# The row of a conversation that had none (conversation 1 of a chat from before /new).
_ENSURE = """
    INSERT INTO conversations (base_key, number, created_at, last_used_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (base_key, number) DO NOTHING
"""
_SET_CURRENT = """
    INSERT INTO current_conversations (base_key, number) VALUES (?, ?)
    ON CONFLICT (base_key) DO UPDATE SET number = excluded.number
"""


class SQLiteConversations:
    """`ConversationRepository` on the conversations and current_conversations tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def current(self, base_key: str) -> int:
        row = await self._db.fetch_one(
            "SELECT number FROM current_conversations WHERE base_key = ?", (base_key,)
        )
        return int(row[0]) if row else 1

    async def create(self, base_key: str, *, now: float) -> int:
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT number FROM current_conversations WHERE base_key = ?", (base_key,)
            ) as cursor:
                row = await cursor.fetchone()
            left = int(row[0]) if row else 1
            await db.execute(_ENSURE, (base_key, left, now, now))
            async with db.execute(
                "SELECT MAX(number) FROM conversations WHERE base_key = ?", (base_key,)
            ) as cursor:
                highest = await cursor.fetchone()
            number = max(int(highest[0]) if highest and highest[0] else 1, 1) + 1
            await db.execute(_ENSURE, (base_key, number, now, now))
            await db.execute(_SET_CURRENT, (base_key, number))
        return number

    async def switch(self, base_key: str, number: int, *, now: float) -> bool:
        async with self._db.transaction() as db:
            if number != 1:
                async with db.execute(
                    "SELECT 1 FROM conversations WHERE base_key = ? AND number = ?",
                    (base_key, number),
                ) as cursor:
                    if await cursor.fetchone() is None:
                        return False
            await db.execute(_ENSURE, (base_key, number, now, now))
            await db.execute(
                "UPDATE conversations SET last_used_at = ? WHERE base_key = ? AND number = ?",
                (now, base_key, number),
            )
            await db.execute(_SET_CURRENT, (base_key, number))
        return True

    async def get(self, base_key: str, number: int) -> ConversationRecord | None:
        row = await self._db.fetch_one(
            "SELECT number, title, created_at, last_used_at FROM conversations"
            " WHERE base_key = ? AND number = ?",
            (base_key, number),
        )
        return (
            ConversationRecord(int(row[0]), row[1], float(row[2]), float(row[3])) if row else None
        )

    async def recent(self, base_key: str, limit: int) -> list[ConversationRecord]:
        rows = await self._db.fetch_all(
            "SELECT number, title, created_at, last_used_at FROM conversations"
            " WHERE base_key = ? ORDER BY last_used_at DESC, number DESC LIMIT ?",
            (base_key, limit),
        )
        return [ConversationRecord(int(r[0]), r[1], float(r[2]), float(r[3])) for r in rows]

    async def forget_titles_before(self, cutoff: float) -> int:
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE conversations SET title = NULL WHERE created_at < ? AND title IS NOT NULL",
                (cutoff,),
            )
            return cursor.rowcount

    async def set_title(self, base_key: str, number: int, title: str, *, now: float) -> None:
        async with self._db.transaction() as db:
            await db.execute(_ENSURE, (base_key, number, now, now))
            await db.execute(
                "UPDATE conversations SET title = ? WHERE base_key = ? AND number = ?",
                (title, base_key, number),
            )
