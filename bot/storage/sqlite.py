"""SQLite storage through aiosqlite: WAL, versioned migrations, atomic turn writes.

Durability: WAL with synchronous=NORMAL. A process crash (even kill -9) never loses a committed
transaction and never corrupts the file; only a power cut can lose the last few commits, which
costs far less than fsync-ing every message on a small server's disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.base import (
    Calibration,
    ChatSettings,
    ChatStats,
    NewTurn,
    Summary,
    Turn,
    TurnState,
    Usage,
)

_TURN_COLUMNS = (
    "id, chat_id, user_text, state, created_at, source_key, reply_to, user_id, speaker, "
    "answer, model, error_type"
)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _turn(row: sqlite3.Row | tuple[Any, ...]) -> Turn:
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
    )


class SQLiteStorage:
    """The `Storage` implementation on one SQLite file."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5_000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        # One connection serves every chat; a write that interleaved with another task's open
        # transaction would silently join it, so writes take turns.
        self._write = asyncio.Lock()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block's statements atomically: all of them commit, or none."""
        async with self._write:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    async def open(self) -> None:
        """Open (creating the folder and file if needed) and bring the schema up to date."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        await self.db.execute("PRAGMA journal_mode = WAL")
        await self.db.execute("PRAGMA synchronous = NORMAL")
        await self.db.execute("PRAGMA foreign_keys = ON")
        await self._migrate()

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        for version, script in _migrations():
            if version <= current:
                continue
            # executescript commits on its own, so the version bump goes inside the script:
            # a migration and its version number land together or not at all.
            await self.db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def ping(self) -> None:
        async with self.db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    async def add_turn(self, turn: NewTurn, *, now: float) -> Turn | None:
        try:
            async with (
                self._write,
                self.db.execute(
                    "INSERT INTO turns (chat_id, source_key, reply_to, user_id, speaker, user_text,"
                    " state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
                    f" RETURNING {_TURN_COLUMNS}",
                    (
                        turn.chat_id,
                        turn.source_key,
                        turn.reply_to,
                        turn.user_id,
                        turn.speaker,
                        turn.user_text,
                        now,
                        now,
                    ),
                ) as cursor,
            ):
                row = await cursor.fetchone()
        except sqlite3.IntegrityError:
            return None  # the same source_key was stored before: a re-delivered message
        assert row is not None
        return _turn(row)

    async def recent_turns(self, chat_id: str, limit: int) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered' ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in reversed(list(rows))]

    async def save_answer(self, turn_id: int, answer: str, usage: Usage, *, now: float) -> None:
        async with self.db.execute(
            "SELECT chat_id, user_id FROM turns WHERE id = ?", (turn_id,)
        ) as c:
            row = await c.fetchone()
        if row is None:
            return  # the chat was cleared while the answer was being written
        chat_id, user_id = row
        async with self._transaction() as db:
            await db.execute(
                "UPDATE turns SET answer = ?, model = ?, state = 'generated', updated_at = ?"
                " WHERE id = ?",
                (answer, usage.model, now, turn_id),
            )
            await self._record_usage(chat_id, user_id, turn_id, usage, now)

    async def _record_usage(
        self, chat_id: str, user_id: str | None, turn_id: int | None, usage: Usage, now: float
    ) -> None:
        await self.db.execute(
            "INSERT INTO usage (chat_id, user_id, turn_id, model, prompt_tokens,"
            " completion_tokens, cost_usd, estimated, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                user_id,
                turn_id,
                usage.model,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cost_usd,
                int(usage.estimated),
                now,
            ),
        )
        await self.db.execute(
            "INSERT INTO chats (chat_id, requests, prompt_tokens, completion_tokens, cost_usd)"
            " VALUES (?, 1, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
            " requests = requests + 1,"
            " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
            " completion_tokens = completion_tokens + excluded.completion_tokens,"
            " cost_usd = cost_usd + excluded.cost_usd",
            (chat_id, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd or 0.0),
        )

    async def _write_one(self, sql: str, params: tuple[object, ...]) -> int:
        async with self._write, self.db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        await self._write_one(
            "UPDATE turns SET state = 'answered', updated_at = ? WHERE id = ?", (now, turn_id)
        )

    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        await self._write_one(
            "UPDATE turns SET state = 'failed', error_type = ?, updated_at = ? WHERE id = ?",
            (error_type, now, turn_id),
        )

    async def unfinished_turns(self) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_unfinished"
            " WHERE state IN ('pending', 'generated') ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in rows]

    async def clear_chat(self, chat_id: str) -> int:
        # Unfinished turns stay: a message that is still being answered is not history yet.
        async with self._transaction() as db:
            await db.execute("DELETE FROM chat_summaries WHERE chat_id = ?", (chat_id,))
            async with db.execute(
                "DELETE FROM turns WHERE chat_id = ? AND state IN ('answered', 'failed')",
                (chat_id,),
            ) as cursor:
                return cursor.rowcount

    async def chat_model(self, chat_id: str) -> str | None:
        async with self.db.execute("SELECT model FROM chats WHERE chat_id = ?", (chat_id,)) as c:
            row = await c.fetchone()
        return row[0] if row else None

    async def set_chat_model(self, chat_id: str, model: str | None) -> None:
        await self._write_one(
            "INSERT INTO chats (chat_id, model) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET model = excluded.model",
            (chat_id, model),
        )

    async def chat_stats(self, chat_id: str) -> ChatStats:
        async with self.db.execute(
            "SELECT COUNT(*) FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered'",
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        turns = int(row[0]) if row else 0
        async with self.db.execute(
            "SELECT requests, prompt_tokens, completion_tokens, cost_usd, model"
            " FROM chats WHERE chat_id = ?",
            (chat_id,),
        ) as cursor:
            chat = await cursor.fetchone()
        requests, prompt, completion, cost, model = chat or (0, 0, 0, 0.0, None)
        return ChatStats(
            messages_in_memory=turns * 2,
            requests=requests,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            model=model,
        )

    # -- conversation controls (issue 9) ---------------------------------------------------

    async def chat_settings(self, chat_id: str) -> ChatSettings:
        async with self.db.execute(
            "SELECT model, persona, system_prompt FROM chats WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return ChatSettings(*row) if row else ChatSettings()

    async def set_chat_persona(
        self, chat_id: str, persona: str | None, *, keep_model: bool
    ) -> None:
        model = "chats.model" if keep_model else "NULL"
        await self._write_one(
            "INSERT INTO chats (chat_id, persona) VALUES (?, ?) ON CONFLICT (chat_id) DO UPDATE"
            f" SET persona = excluded.persona, system_prompt = NULL, model = {model}",
            (chat_id, persona),
        )

    async def set_chat_system_prompt(self, chat_id: str, prompt: str | None) -> None:
        await self._write_one(
            "INSERT INTO chats (chat_id, system_prompt) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET system_prompt = excluded.system_prompt",
            (chat_id, prompt),
        )

    async def answered_turns(self, chat_id: str) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered' ORDER BY id",
            (chat_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in rows]

    async def chat_summary(self, chat_id: str) -> Summary | None:
        async with self.db.execute(
            "SELECT text, covers_to FROM chat_summaries WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Summary(row[0], row[1]) if row else None

    async def save_summary(
        self, chat_id: str, summary: Summary, *, previous: int | None, now: float
    ) -> bool:
        async with self._transaction() as db:
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
            await db.execute(
                "INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET text = excluded.text,"
                " covers_to = excluded.covers_to, updated_at = excluded.updated_at",
                (chat_id, summary.text, summary.covers_to, now),
            )
        return True

    async def record_usage(self, chat_id: str, usage: Usage, *, now: float) -> None:
        async with self._transaction():
            await self._record_usage(chat_id, None, None, usage, now)

    async def token_calibrations(self) -> dict[str, Calibration]:
        async with self.db.execute(
            "SELECT model, bytes_per_token, samples FROM token_calibration"
        ) as cursor:
            rows = await cursor.fetchall()
        return {row[0]: Calibration(row[1], row[2]) for row in rows}

    async def save_token_calibration(
        self, model: str, calibration: Calibration, *, now: float
    ) -> None:
        await self._write_one(
            "INSERT INTO token_calibration (model, bytes_per_token, samples, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (model) DO UPDATE SET"
            " bytes_per_token = excluded.bytes_per_token, samples = excluded.samples,"
            " updated_at = excluded.updated_at",
            (model, calibration.bytes_per_token, calibration.samples, now),
        )
