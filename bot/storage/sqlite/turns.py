"""The turns table: a chat's messages and answers, through their whole life."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.storage.records import Attachment, NewTurn, Quote, Turn, TurnState, Usage
from bot.storage.sqlite.attachments import attachments_of
from bot.storage.sqlite.database import Database, Row
from bot.storage.sqlite.usage import usage_statements

COLUMNS = (
    "id, chat_id, user_text, state, created_at, source_key, reply_to, user_id, speaker, "
    "answer, model, error_type, replaces, quote_text, quote_author, quote_own, tool_calls"
)


_RECENT = (
    f"SELECT {COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
    " WHERE chat_id = ? AND state = 'answered' ORDER BY id DESC LIMIT ?"
)


def _quote(text: str | None, author: str | None, own: int) -> Quote | None:
    return None if text is None else Quote(text, author, bool(own))


def _turn(row: Row) -> Turn:
    return Turn(
        id=row[0],
        chat_id=row[1],
        user_text=row[2],
        state=TurnState(row[3]),
        created_at=row[4],
        source_key=row[5],
        reply_to=row[6],
        user_id=row[7],
        speaker=row[8],
        answer=row[9],
        model=row[10],
        error_type=row[11],
        replaces=row[12],
        quote=_quote(row[13], row[14], row[15]),
        tool_calls=row[16],
    )


def _quote_columns(quote: Quote | None) -> tuple[str | None, str | None, int]:
    return (None, None, 0) if quote is None else (quote.text, quote.author, int(quote.own))


class SQLiteTurns:
    """`TurnRepository` on the turns table (answers' usage goes to the usage tables too)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, turn: NewTurn, *, now: float) -> Turn | None:
        async with self._db.writing() as db:
            try:  # one trip to aiosqlite's thread (a cursor would take three)
                rows = await db.execute_fetchall(
                    "INSERT INTO turns (chat_id, source_key, reply_to, user_id, speaker, user_text,"
                    " replaces, quote_text, quote_author, quote_own, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
                    f" RETURNING {COLUMNS}",
                    (
                        turn.chat_id,
                        turn.source_key,
                        turn.reply_to,
                        turn.user_id,
                        turn.speaker,
                        turn.user_text,
                        turn.replaces,
                        *_quote_columns(turn.quote),
                        now if turn.sent_at is None else turn.sent_at,
                        now,
                    ),
                )
            except sqlite3.IntegrityError:
                return None  # the same source_key was stored before: a re-delivered message
        row = next(iter(rows), None)
        assert row is not None
        return _turn(row)

    async def get(self, turn_id: int) -> Turn | None:
        row = await self._db.fetch_one(f"SELECT {COLUMNS} FROM turns WHERE id = ?", (turn_id,))
        return None if row is None else _turn(row)

    async def last_finished(self, chat_id: str) -> Turn | None:
        row = await self._db.fetch_one(
            f"SELECT {COLUMNS} FROM turns INDEXED BY turns_by_chat"
            " WHERE chat_id = ? AND state IN ('answered', 'failed') ORDER BY id DESC LIMIT 1",
            (chat_id,),
        )
        return None if row is None else _turn(row)

    async def recent(self, chat_id: str, limit: int) -> list[Turn]:
        rows = await self._db.fetch_all(_RECENT, (chat_id, limit))
        return [_turn(row) for row in reversed(rows)]

    async def recent_with_attachments(
        self, chat_id: str, limit: int, *, also: Sequence[int] = ()
    ) -> tuple[list[Turn], dict[int, list[Attachment]]]:
        def read(raw: sqlite3.Connection) -> tuple[list[Turn], dict[int, list[Attachment]]]:
            turns = [
                _turn(row) for row in reversed(raw.execute(_RECENT, (chat_id, limit)).fetchall())
            ]
            return turns, attachments_of(raw, [*(t.id for t in turns), *also])

        return await self._db.read(read)  # both reads in one trip to aiosqlite's thread

    async def answered_page(self, chat_id: str, *, after: int, limit: int) -> list[Turn]:
        rows = await self._db.fetch_all(
            f"SELECT {COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered' AND id > ? ORDER BY id LIMIT ?",
            (chat_id, after, limit),
        )
        return [_turn(row) for row in rows]

    async def count_answered(self, chat_id: str) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered'",
            (chat_id,),
        )
        return int(row[0]) if row else 0

    async def delete_settled_before(self, cutoff: float, *, limit: int) -> int:
        # The ids are found first, outside the write lock (oldest first: they sit at the
        # start of the table, so the scan stops early); only the short delete holds it.
        rows = await self._db.fetch_all(
            "SELECT id FROM turns WHERE created_at < ? AND state IN ('answered', 'failed')"
            " ORDER BY id LIMIT ?",
            (cutoff, limit),
        )
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        marks = ", ".join("?" * len(ids))
        return await self._db.write(
            f"DELETE FROM turns WHERE id IN ({marks}) AND state IN ('answered', 'failed')",
            ids,
        )

    async def unfinished(self) -> list[Turn]:
        rows = await self._db.fetch_all(
            f"SELECT {COLUMNS} FROM turns INDEXED BY turns_unfinished"
            " WHERE state IN ('pending', 'generated') ORDER BY id"
        )
        return [_turn(row) for row in rows]

    async def save_answer(
        self, turn_id: int, answer: str, usage: Usage, *, now: float, tool_calls: str | None = None
    ) -> None:
        def store(raw: sqlite3.Connection) -> None:
            # The read and the writes in one transaction and one trip to aiosqlite's thread.
            rows = raw.execute(  # all rows: a statement left unfinished would block COMMIT
                "UPDATE turns SET answer = ?, model = ?, tool_calls = ?, state = 'generated',"
                " updated_at = ? WHERE id = ? RETURNING chat_id, user_id",
                (answer, usage.model, tool_calls, now, turn_id),
            ).fetchall()
            if not rows:
                return  # the chat was cleared while the answer was being written
            chat_id, user_id = rows[0]
            for sql, params in usage_statements(chat_id, user_id, turn_id, usage, now=now):
                raw.execute(sql, params)

        await self._db.atomic(store)

    async def touch(self, turn_id: int, *, now: float) -> None:
        await self._db.write("UPDATE turns SET updated_at = ? WHERE id = ?", (now, turn_id))

    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        await self._db.batch(
            [
                (
                    "UPDATE turns SET state = 'answered', updated_at = ? WHERE id = ?",
                    (now, turn_id),
                ),
                # A /retry's answer takes the place of the one it regenerates.
                (
                    "DELETE FROM turns WHERE id = (SELECT replaces FROM turns WHERE id = ?)"
                    " AND state IN ('answered', 'failed')",
                    (turn_id,),
                ),
            ]
        )

    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        await self._db.write(
            "UPDATE turns SET state = 'failed', error_type = ?, updated_at = ?"
            " WHERE id = ? AND state IN ('pending', 'generated')",
            (error_type, now, turn_id),
        )

    async def clear_chat(self, chat_id: str) -> int:
        # Unfinished turns stay: a message that is still being answered is not history yet.
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM chat_summaries WHERE chat_id = ?", (chat_id,))
            async with db.execute(
                "DELETE FROM turns WHERE chat_id = ? AND state IN ('answered', 'failed')",
                (chat_id,),
            ) as cursor:
                return cursor.rowcount
