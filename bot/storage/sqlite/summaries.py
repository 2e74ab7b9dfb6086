"""The chat_summaries table: one rolling summary per chat."""

from __future__ import annotations

from bot.storage.records import Summary
from bot.storage.sqlite.database import Database

_SAVE = """
    INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET
        text = excluded.text,
        covers_to = excluded.covers_to,
        updated_at = excluded.updated_at
"""


class SQLiteSummaries:
    """`SummaryRepository` on the chat_summaries table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, chat_id: str) -> Summary | None:
        row = await self._db.fetch_one(
            "SELECT text, covers_to FROM chat_summaries WHERE chat_id = ?", (chat_id,)
        )
        return Summary(row[0], row[1]) if row else None

    async def save(
        self, chat_id: str, summary: Summary, *, previous: int | None, now: float
    ) -> bool:
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT covers_to FROM chat_summaries WHERE chat_id = ?", (chat_id,)
            ) as cursor:
                row = await cursor.fetchone()
            async with db.execute(
                "SELECT 1 FROM turns WHERE id = ? AND chat_id = ? AND state = 'answered'",
                (summary.covers_to, chat_id),
            ) as cursor:
                still_stored = await cursor.fetchone() is not None
            if (row[0] if row else None) != previous or not still_stored:
                return False
            await db.execute(_SAVE, (chat_id, summary.text, summary.covers_to, now))
        return True

    async def delete_updated_before(self, cutoff: float) -> int:
        return await self._db.write("DELETE FROM chat_summaries WHERE updated_at < ?", (cutoff,))
