"""The update_inbox table: webhook updates recorded before they are acknowledged."""

from __future__ import annotations

from bot.storage.postgres.database import PostgresDatabase


class PostgresInbox:
    """`UpdateInbox` on the update_inbox table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def record(self, update_id: int, payload: str, *, now: float) -> None:
        await self._db.write(
            "INSERT INTO update_inbox (update_id, payload, received_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (update_id) DO NOTHING",
            update_id,
            payload,
            now,
        )

    async def settle(self, update_id: int) -> None:
        await self._db.write("DELETE FROM update_inbox WHERE update_id = $1", update_id)

    async def waiting(self, limit: int) -> list[tuple[int, str]]:
        rows = await self._db.fetch_all(
            "SELECT update_id, payload FROM update_inbox ORDER BY update_id LIMIT $1", limit
        )
        return [(int(row[0]), str(row[1])) for row in rows]
