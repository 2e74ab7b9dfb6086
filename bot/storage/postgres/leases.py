"""The chat_leases table: which replica works on which conversation, until when.

A lease is taken atomically: the row is inserted, or taken over only when it has expired (or
is the caller's own); both in one statement, so two replicas never both win. Expiry is read
off the database's clock, so replicas whose clocks disagree still agree on it. A holder renews
the leases it knows of in one statement, and deletes a lease when it is done with the
conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.postgres.database import PostgresDatabase

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"
_CLAIM = f"""
    INSERT INTO chat_leases AS l (chat_key, holder, expires_at, previous)
    VALUES ($1, $2, {_NOW} + $3, '')
    ON CONFLICT (chat_key) DO UPDATE
        SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, previous = l.holder
        WHERE l.expires_at < {_NOW} OR l.holder = EXCLUDED.holder
    RETURNING previous
"""


class PostgresLeases:
    """`ChatLeases` on the chat_leases table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def claim(self, chat_key: str, holder: str, seconds: float) -> str | None:
        row = await self._db.fetch_one(_CLAIM, chat_key, holder, seconds)
        return None if row is None else str(row[0])

    async def renew(self, holder: str, keys: Sequence[str], seconds: float) -> list[str]:
        rows = await self._db.fetch_all(
            f"UPDATE chat_leases SET expires_at = {_NOW} + $3"
            " WHERE holder = $1 AND chat_key = ANY($2::text[]) RETURNING chat_key",
            holder,
            list(keys),
            seconds,
        )
        return [str(row[0]) for row in rows]

    async def release(self, chat_key: str, holder: str) -> bool:
        changed = await self._db.write(
            "DELETE FROM chat_leases WHERE chat_key = $1 AND holder = $2", chat_key, holder
        )
        return changed > 0

    async def holders(self) -> list[str]:
        rows = await self._db.fetch_all("SELECT DISTINCT holder FROM chat_leases")
        return [str(row[0]) for row in rows]

    async def expire(self, holders: Sequence[str]) -> int:
        return await self._db.write(
            "UPDATE chat_leases SET expires_at = 0 WHERE holder = ANY($1::text[])", list(holders)
        )

    async def release_all(self, holder: str) -> int:
        return await self._db.write("DELETE FROM chat_leases WHERE holder = $1", holder)
