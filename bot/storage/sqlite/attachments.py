"""The attachments table (a turn's files) and chat_media (a chat's /voice choice)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.storage.records import Attachment, AttachmentKind
from bot.storage.sqlite.database import Database, Row

_FIELDS = "kind, file_id, name, mime_type, size, duration, text, note, data"
_INSERT = (
    f"INSERT INTO attachments (turn_id, position, {_FIELDS})"
    " VALUES (?, (SELECT COUNT(*) FROM attachments WHERE turn_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_SET_QUESTION = (
    "UPDATE turns SET user_text = ? WHERE id = (SELECT turn_id FROM attachments WHERE id = ?)"
)


def _attachment(row: Row) -> Attachment:
    return Attachment(
        kind=AttachmentKind(row[1]),
        file_id=row[2],
        name=row[3],
        mime_type=row[4],
        size=row[5],
        duration=row[6],
        text=row[7],
        note=row[8],
        data=None if row[9] is None else bytes(row[9]),
        id=row[10],
    )


def _values(a: Attachment) -> tuple[object, ...]:
    return (
        a.kind.value,
        a.file_id,
        a.name,
        a.mime_type,
        a.size,
        a.duration,
        a.text,
        a.note,
        a.data,
    )


def attachments_of(raw: sqlite3.Connection, turn_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """The attachments of these turns, by turn, in the order they were sent (run in
    aiosqlite's thread, through `Database.read`)."""
    found: dict[int, list[Attachment]] = {}
    if not turn_ids:
        return found
    marks = ", ".join("?" * len(turn_ids))
    rows = raw.execute(
        f"SELECT turn_id, {_FIELDS}, id FROM attachments INDEXED BY attachments_by_turn"
        f" WHERE turn_id IN ({marks}) ORDER BY turn_id, position",
        list(turn_ids),
    ).fetchall()
    for row in rows:
        found.setdefault(row[0], []).append(_attachment(row))
    return found


class SQLiteAttachments:
    """`AttachmentRepository` on the attachments table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, turn_id: int, attachments: Sequence[Attachment]) -> None:
        async with self._db.transaction() as db:
            for attachment in attachments:
                await db.execute(_INSERT, (turn_id, turn_id, *_values(attachment)))

    async def of_turns(self, turn_ids: Sequence[int]) -> dict[int, list[Attachment]]:
        if not turn_ids:
            return {}
        return await self._db.read(lambda raw: attachments_of(raw, turn_ids))

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
                "UPDATE attachments SET text = ?, note = ?, data = ? WHERE id = ?",
                (text, note, data, attachment_id),
            )
            if question is not None:
                await db.execute(_SET_QUESTION, (question, attachment_id))

    async def copy(self, from_turn: int, to_turn: int) -> None:
        await self._db.write(
            f"INSERT INTO attachments (turn_id, position, {_FIELDS})"
            f" SELECT ?, position, {_FIELDS} FROM attachments WHERE turn_id = ? ORDER BY position",
            (to_turn, from_turn),
        )

    async def set_question(self, attachment_id: int, question: str) -> None:
        await self._db.write(_SET_QUESTION, (question, attachment_id))


class SQLiteChatMedia:
    """`ChatMediaRepository` on the chat_media table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def voice_replies(self, chat_id: str) -> bool:
        row = await self._db.fetch_one(
            "SELECT voice_replies FROM chat_media WHERE chat_id = ?", (chat_id,)
        )
        return bool(row and row[0])

    async def set_voice_replies(self, chat_id: str, on: bool) -> None:
        await self._db.write(
            "INSERT INTO chat_media (chat_id, voice_replies) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET voice_replies = excluded.voice_replies",
            (chat_id, int(on)),
        )
