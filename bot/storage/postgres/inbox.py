"""The update_inbox table: updates recorded before they are acknowledged, each with the
conversation it belongs to, and a notification to every replica that one is waiting.

Recording and notifying are one statement: PostgreSQL delivers a NOTIFY when its transaction
commits, so a replica woken by it always finds the row. The channel carries the schema's
name, so bots sharing one database in separate schemas never wake each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.postgres.database import PostgresDatabase, translated

if TYPE_CHECKING:
    import asyncpg

log = get_logger(__name__)

CHANNEL = "tlb_inbox."  # + current_schema(): LISTEN/NOTIFY channels are database-wide
_RECORD = f"""
    WITH recorded AS (
        INSERT INTO update_inbox (update_id, payload, received_at, chat_key)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (update_id) DO NOTHING
        RETURNING chat_key
    )
    SELECT pg_notify('{CHANNEL}' || current_schema(), chat_key) FROM recorded
"""
# Conversations with updates waiting that no replica holds a live lease on, oldest first.
_FREE = """
    SELECT i.chat_key FROM update_inbox i
    LEFT JOIN chat_leases l ON l.chat_key = i.chat_key
    WHERE i.chat_key IS NOT NULL
      AND (l.chat_key IS NULL OR l.expires_at < EXTRACT(EPOCH FROM clock_timestamp()))
    GROUP BY i.chat_key ORDER BY MIN(i.update_id) LIMIT $1
"""


class PostgresInbox:
    """`UpdateInbox` on the update_inbox table."""

    def __init__(self, database: PostgresDatabase, *, reconnect_seconds: float = 1.0) -> None:
        self._db = database
        self.reconnect_seconds = reconnect_seconds

    async def record(self, update_id: int, payload: str, chat_key: str, *, now: float) -> None:
        await self._db.fetch_value(_RECORD, update_id, payload, now, chat_key)

    async def settle(self, update_id: int) -> None:
        await self._db.write("DELETE FROM update_inbox WHERE update_id = $1", update_id)

    async def keyless(self, limit: int) -> list[tuple[int, str]]:
        rows = await self._db.fetch_all(
            "SELECT update_id, payload FROM update_inbox WHERE chat_key IS NULL"
            " ORDER BY update_id LIMIT $1",
            limit,
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def set_key(self, update_id: int, chat_key: str) -> None:
        await self._db.write(
            "UPDATE update_inbox SET chat_key = $1 WHERE update_id = $2", chat_key, update_id
        )

    async def free_chats(self, limit: int) -> list[str]:
        return [str(row[0]) for row in await self._db.fetch_all(_FREE, limit)]

    async def of_chats(
        self, chat_keys: Sequence[str], *, besides: Sequence[int], limit: int
    ) -> list[tuple[int, str, str]]:
        rows = await self._db.fetch_all(
            "SELECT update_id, chat_key, payload FROM update_inbox"
            " WHERE chat_key = ANY($1::text[]) AND NOT (update_id = ANY($2::bigint[]))"
            " ORDER BY update_id LIMIT $3",
            list(chat_keys),
            list(besides),
            limit,
        )
        return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]

    async def listen(self, wake: Callable[[str], None]) -> None:
        """Call `wake(chat_key)` for every update recorded by any replica, until cancelled.
        The connection is its own (a pooled one must not LISTEN); when it breaks it is made
        again, and `wake("")` says notifications may have been missed meanwhile."""
        while True:
            try:
                await self._listen_once(wake)
            except StorageError as exc:
                log.warning("inbox_listen_failed", error=str(exc))
            wake("")
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen_once(self, wake: Callable[[str], None]) -> None:
        import asyncpg  # noqa: PLC0415 - the driver loads only when PostgreSQL is configured

        closed = asyncio.Event()

        def notified(_c: object, _pid: int, _channel: str, payload: str) -> None:
            wake(payload)

        connection: asyncpg.Connection | None = None
        try:
            with translated():
                connection = await asyncpg.connect(self._db.url, timeout=10)
                connection.add_termination_listener(lambda _c: closed.set())
                channel = await connection.fetchval(f"SELECT '{CHANNEL}' || current_schema()")
                await connection.add_listener(str(channel), notified)
            wake("")  # what was recorded before the listener was in place
            await closed.wait()
        finally:
            if connection is not None:
                with suppress(Exception):
                    connection.terminate()
