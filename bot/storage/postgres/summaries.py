"""The chat_summaries table on PostgreSQL: one rolling summary per chat."""

from __future__ import annotations

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import Summary

_SAVE = """
    INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (chat_id) DO UPDATE SET
        text = excluded.text,
        covers_to = excluded.covers_to,
        updated_at = excluded.updated_at
"""


class PostgresSummaries:
    """`SummaryRepository` on the chat_summaries table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def get(self, chat_id: str) -> Summary | None:
        row = await self._db.fetch_one(
            "SELECT text, covers_to FROM chat_summaries WHERE chat_id = $1", chat_id
        )
        return Summary(row[0], row[1]) if row else None

    async def save(
        self, chat_id: str, summary: Summary, *, previous: int | None, now: float
    ) -> bool:
        async with self._db.transaction() as db:
            # Two replicas may summarise one chat at once: the check and the write below are
            # one step for this chat (SQLite gets the same from its single writer).
            await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "summary:" + chat_id)
            covers = await db.fetchval(
                "SELECT covers_to FROM chat_summaries WHERE chat_id = $1", chat_id
            )
            still_stored = await db.fetchval(
                "SELECT 1 FROM turns WHERE id = $1 AND chat_id = $2 AND state = 'answered'",
                summary.covers_to,
                chat_id,
            )
            if covers != previous or not still_stored:
                return False
            await db.execute(_SAVE, chat_id, summary.text, summary.covers_to, now)
        return True

    async def delete_updated_before(self, cutoff: float) -> int:
        return await self._db.write("DELETE FROM chat_summaries WHERE updated_at < $1", cutoff)
