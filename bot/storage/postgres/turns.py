"""The turns table on PostgreSQL: a chat's messages and answers, through their whole life."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.postgres.attachments import PostgresAttachments
from bot.storage.postgres.database import PostgresDatabase, rowcount
from bot.storage.postgres.usage import add_usage
from bot.storage.records import Attachment, NewTurn, Turn, Usage
from bot.storage.sqlite.turns import COLUMNS, _quote_columns, _turn

_ADD = (
    "INSERT INTO turns (chat_id, source_key, reply_to, user_id, speaker, user_text,"
    " replaces, quote_text, quote_author, quote_own, state, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)"
    f" ON CONFLICT (source_key) DO NOTHING RETURNING {COLUMNS}"
)


class PostgresTurns:
    """`TurnRepository` on the turns table (answers' usage goes to the usage tables too)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database
        self._attachments = PostgresAttachments(database)

    async def add(self, turn: NewTurn, *, now: float) -> Turn | None:
        row = await self._db.fetch_one(
            _ADD,
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
        )
        # No row: the same source_key was stored before (a re-delivered message).
        return None if row is None else _turn(row)

    async def get(self, turn_id: int) -> Turn | None:
        row = await self._db.fetch_one(f"SELECT {COLUMNS} FROM turns WHERE id = $1", turn_id)
        return None if row is None else _turn(row)

    async def last_finished(self, chat_id: str) -> Turn | None:
        row = await self._db.fetch_one(
            f"SELECT {COLUMNS} FROM turns WHERE chat_id = $1"
            " AND state IN ('answered', 'failed') ORDER BY id DESC LIMIT 1",
            chat_id,
        )
        return None if row is None else _turn(row)

    async def recent(self, chat_id: str, limit: int) -> list[Turn]:
        rows = await self._db.fetch_all(
            f"SELECT {COLUMNS} FROM turns WHERE chat_id = $1 AND state = 'answered'"
            " ORDER BY id DESC LIMIT $2",
            chat_id,
            limit,
        )
        return [_turn(row) for row in reversed(rows)]

    async def recent_with_attachments(
        self, chat_id: str, limit: int, *, also: Sequence[int] = ()
    ) -> tuple[list[Turn], dict[int, list[Attachment]]]:
        turns = await self.recent(chat_id, limit)
        found = await self._attachments.of_turns([*(t.id for t in turns), *also])
        return turns, found

    async def answered_page(self, chat_id: str, *, after: int, limit: int) -> list[Turn]:
        rows = await self._db.fetch_all(
            f"SELECT {COLUMNS} FROM turns WHERE chat_id = $1 AND state = 'answered'"
            " AND id > $2 ORDER BY id LIMIT $3",
            chat_id,
            after,
            limit,
        )
        return [_turn(row) for row in rows]

    async def count_answered(self, chat_id: str) -> int:
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM turns WHERE chat_id = $1 AND state = 'answered'", chat_id
        )
        return int(value or 0)

    async def delete_settled_before(self, cutoff: float, *, limit: int) -> int:
        return await self._db.write(
            "DELETE FROM turns WHERE id IN (SELECT id FROM turns WHERE created_at < $1"
            " AND state IN ('answered', 'failed') ORDER BY id LIMIT $2)",
            cutoff,
            limit,
        )

    async def unfinished(self) -> list[Turn]:
        rows = await self._db.fetch_all(
            f"SELECT {COLUMNS} FROM turns WHERE state IN ('pending', 'generated') ORDER BY id"
        )
        return [_turn(row) for row in rows]

    async def save_answer(
        self, turn_id: int, answer: str, usage: Usage, *, now: float, tool_calls: str | None = None
    ) -> None:
        async with self._db.transaction() as db:
            row = await db.fetchrow(
                "UPDATE turns SET answer = $1, model = $2, tool_calls = $3, state = 'generated',"
                " updated_at = $4 WHERE id = $5 RETURNING chat_id, user_id",
                answer,
                usage.model,
                tool_calls,
                now,
                turn_id,
            )
            if row is None:
                return  # the chat was cleared while the answer was being written
            await add_usage(db, row[0], row[1], turn_id, usage, now=now)

    async def touch(self, turn_id: int, *, now: float) -> None:
        await self._db.write("UPDATE turns SET updated_at = $1 WHERE id = $2", now, turn_id)

    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE turns SET state = 'answered', updated_at = $1 WHERE id = $2", now, turn_id
            )
            # A /retry's answer takes the place of the one it regenerates.
            await db.execute(
                "DELETE FROM turns WHERE id = (SELECT replaces FROM turns WHERE id = $1)"
                " AND state IN ('answered', 'failed')",
                turn_id,
            )

    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        await self._db.write(
            "UPDATE turns SET state = 'failed', error_type = $1, updated_at = $2"
            " WHERE id = $3 AND state IN ('pending', 'generated')",
            error_type,
            now,
            turn_id,
        )

    async def clear_chat(self, chat_id: str) -> int:
        # Unfinished turns stay: a message that is still being answered is not history yet.
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM chat_summaries WHERE chat_id = $1", chat_id)
            status = await db.execute(
                "DELETE FROM turns WHERE chat_id = $1 AND state IN ('answered', 'failed')",
                chat_id,
            )
            return rowcount(status)
