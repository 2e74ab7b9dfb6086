"""The attachments table (a turn's files) and chat_media (a chat's /voice choice) on
PostgreSQL; the same rows as SQLite's (storage/sqlite/attachments.py)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import Attachment
from bot.storage.sqlite.attachments import _FIELDS, _attachment, _values

# An album grows one photo at a time; the position is the count so far, taken under a lock
# on the turn's row so two replicas cannot give two photos the same place.
_INSERT = (
    f"INSERT INTO attachments (turn_id, position, {_FIELDS})"
    " VALUES ($1, (SELECT COUNT(*) FROM attachments WHERE turn_id = $1),"
    " $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_SET_QUESTION = (
    "UPDATE turns SET user_text = $1 WHERE id = (SELECT turn_id FROM attachments WHERE id = $2)"
)


class PostgresAttachments:
    """`AttachmentRepository` on the attachments table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def add(self, turn_id: int, attachments: Sequence[Attachment]) -> None:
        async with self._db.transaction() as db:
            await db.execute("SELECT 1 FROM turns WHERE id = $1 FOR UPDATE", turn_id)
            for attachment in attachments:
                await db.execute(_INSERT, turn_id, *_values(attachment))

    async def of_turns(self, turn_ids: Sequence[int]) -> dict[int, list[Attachment]]:
        found: dict[int, list[Attachment]] = {}
        if not turn_ids:
            return found
        rows = await self._db.fetch_all(
            f"SELECT turn_id, {_FIELDS}, id FROM attachments"
            " WHERE turn_id = ANY($1::bigint[]) ORDER BY turn_id, position",
            list(turn_ids),
        )
        for row in rows:
            found.setdefault(row[0], []).append(_attachment(row))
        return found

    async def derive(
        self,
        attachment_id: int,
        *,
        text: str | None,
        note: str | None,
        data: bytes | None,
        question: str | None = None,
    ) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE attachments SET text = $1, note = $2, data = $3 WHERE id = $4",
                text,
                note,
                data,
                attachment_id,
            )
            if question is not None:
                await db.execute(_SET_QUESTION, question, attachment_id)

    async def copy(self, from_turn: int, to_turn: int) -> None:
        await self._db.write(
            f"INSERT INTO attachments (turn_id, position, {_FIELDS})"
            f" SELECT $1, position, {_FIELDS} FROM attachments WHERE turn_id = $2"
            " ORDER BY position",
            to_turn,
            from_turn,
        )

    async def set_question(self, attachment_id: int, question: str) -> None:
        await self._db.write(_SET_QUESTION, question, attachment_id)


class PostgresChatMedia:
    """`ChatMediaRepository` on the chat_media table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def voice_replies(self, chat_id: str) -> bool:
        value = await self._db.fetch_value(
            "SELECT voice_replies FROM chat_media WHERE chat_id = $1", chat_id
        )
        return bool(value)

    async def set_voice_replies(self, chat_id: str, on: bool) -> None:
        await self._db.write(
            "INSERT INTO chat_media (chat_id, voice_replies) VALUES ($1, $2)"
            " ON CONFLICT (chat_id) DO UPDATE SET voice_replies = excluded.voice_replies",
            chat_id,
            int(on),
        )
