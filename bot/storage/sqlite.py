"""SQLite storage through aiosqlite: WAL, versioned migrations, atomic turn writes.

Durability: WAL with synchronous=NORMAL. A process crash (even kill -9) never loses a committed
transaction and never corrupts the file; only a power cut can lose the last few commits, which
costs far less than fsync-ing every message on a small server's disk.

Failures: every driver error leaves as `StorageError`. A write that fails (locked, read-only,
full or failing disk) is rolled back whole, and the connection stays usable, so the next
operation succeeds as soon as the disk does.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import aiosqlite

from bot.storage.base import (
    Calibration,
    ChatSettings,
    ChatStats,
    NewTurn,
    StorageError,
    Summary,
    Turn,
    TurnState,
    Usage,
    UsageRow,
    UsageTotals,
)

P = ParamSpec("P")
R = TypeVar("R")

DAY_S = 86_400  # a UTC day; Unix time has no leap seconds, so days start at multiples of it
_ADD_TO_TOTALS = (
    " requests, prompt_tokens, completion_tokens, cost_usd) VALUES ({keys}, 1, ?, ?, ?)"
    " ON CONFLICT ({key}) DO UPDATE SET requests = requests + 1,"
    " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = completion_tokens + excluded.completion_tokens,"
    " cost_usd = cost_usd + excluded.cost_usd"
)
_ADD_TO_DAY = "INSERT INTO usage_days (day," + _ADD_TO_TOTALS.format(keys="?", key="day")
_ADD_TO_USER_DAY = "INSERT INTO usage_user_days (user_id, day," + _ADD_TO_TOTALS.format(
    keys="?, ?", key="user_id, day"
)

_TURN_COLUMNS = (
    "id, chat_id, user_text, state, created_at, source_key, reply_to, user_id, speaker, "
    "answer, model, error_type, replaces"
)


def _translated(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """The driver's errors leave as StorageError (the message names the operation)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise StorageError(f"{method.__name__}: {exc}") from exc

    return wrapper


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
        replaces=row[12],
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
                await self.db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        """End a failed transaction, whatever state it is in.

        SQLite rolls back by itself after some failures (a full or failing disk during
        COMMIT); after others (a failed statement, "database is locked" at COMMIT) the
        transaction stays open and would swallow every later write if left so.
        """
        if self.db.in_transaction:
            with suppress(sqlite3.Error):
                await self.db.execute("ROLLBACK")

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    @_translated
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

    @_translated
    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @_translated
    async def ping(self) -> None:
        async with self.db.execute("SELECT 1") as cursor:
            await cursor.fetchone()

    @_translated
    async def add_turn(self, turn: NewTurn, *, now: float) -> Turn | None:
        try:
            async with (
                self._write,
                self.db.execute(
                    "INSERT INTO turns (chat_id, source_key, reply_to, user_id, speaker, user_text,"
                    " replaces, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
                    f" RETURNING {_TURN_COLUMNS}",
                    (
                        turn.chat_id,
                        turn.source_key,
                        turn.reply_to,
                        turn.user_id,
                        turn.speaker,
                        turn.user_text,
                        turn.replaces,
                        now if turn.sent_at is None else turn.sent_at,
                        now,
                    ),
                ) as cursor,
            ):
                row = await cursor.fetchone()
        except sqlite3.IntegrityError:
            return None  # the same source_key was stored before: a re-delivered message
        assert row is not None
        return _turn(row)

    @_translated
    async def get_turn(self, turn_id: int) -> Turn | None:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE id = ?", (turn_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _turn(row)

    @_translated
    async def last_finished_turn(self, chat_id: str) -> Turn | None:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_by_chat"
            " WHERE chat_id = ? AND state IN ('answered', 'failed') ORDER BY id DESC LIMIT 1",
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _turn(row)

    @_translated
    async def recent_turns(self, chat_id: str, limit: int) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered' ORDER BY id DESC LIMIT ?",
            (chat_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in reversed(list(rows))]

    @_translated
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
        # The per-day totals that budgets read (migration 0004).
        day = int(now // DAY_S) * DAY_S
        figures = (usage.prompt_tokens, usage.completion_tokens, usage.cost_usd or 0.0)
        await self.db.execute(_ADD_TO_DAY, (day, *figures))
        if user_id is not None:
            await self.db.execute(_ADD_TO_USER_DAY, (user_id, day, *figures))

    async def _write_one(self, sql: str, params: tuple[object, ...]) -> int:
        async with self._write, self.db.execute(sql, params) as cursor:
            return cursor.rowcount

    @_translated
    async def touch_turn(self, turn_id: int, *, now: float) -> None:
        await self._write_one("UPDATE turns SET updated_at = ? WHERE id = ?", (now, turn_id))

    @_translated
    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE turns SET state = 'answered', updated_at = ? WHERE id = ?", (now, turn_id)
            )
            # A /retry's answer takes the place of the one it regenerates.
            await db.execute(
                "DELETE FROM turns WHERE id = (SELECT replaces FROM turns WHERE id = ?)"
                " AND state IN ('answered', 'failed')",
                (turn_id,),
            )

    @_translated
    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        await self._write_one(
            "UPDATE turns SET state = 'failed', error_type = ?, updated_at = ?"
            " WHERE id = ? AND state IN ('pending', 'generated')",
            (error_type, now, turn_id),
        )

    @_translated
    async def unfinished_turns(self) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_unfinished"
            " WHERE state IN ('pending', 'generated') ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in rows]

    @_translated
    async def clear_chat(self, chat_id: str) -> int:
        # Unfinished turns stay: a message that is still being answered is not history yet.
        async with self._transaction() as db:
            await db.execute("DELETE FROM chat_summaries WHERE chat_id = ?", (chat_id,))
            async with db.execute(
                "DELETE FROM turns WHERE chat_id = ? AND state IN ('answered', 'failed')",
                (chat_id,),
            ) as cursor:
                return cursor.rowcount

    @_translated
    async def chat_model(self, chat_id: str) -> str | None:
        async with self.db.execute("SELECT model FROM chats WHERE chat_id = ?", (chat_id,)) as c:
            row = await c.fetchone()
        return row[0] if row else None

    @_translated
    async def set_chat_model(self, chat_id: str, model: str | None) -> None:
        await self._write_one(
            "INSERT INTO chats (chat_id, model) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET model = excluded.model",
            (chat_id, model),
        )

    @_translated
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

    # -- accounting ---------------------------------------------------------------------------

    @_translated
    async def usage_totals(self, *, since: float, user_id: str | None = None) -> UsageTotals:
        # Whole days from the per-day totals, and the part of a day before the first of them
        # (none when `since` is a day's start, as for budgets) from the usage rows.
        day = -(-since // DAY_S) * DAY_S
        days, rows = "usage_days WHERE day >= :day", "usage WHERE at >= :since AND at < :day"
        if user_id is not None:  # both read through their (user_id, ...) keys
            days = "usage_user_days WHERE user_id = :user AND day >= :day"
            rows = "usage WHERE user_id = :user AND at >= :since AND at < :day"
        async with self.db.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(p), 0), COALESCE(SUM(c), 0),"
            " COALESCE(SUM(usd), 0) FROM ("
            " SELECT requests AS n, prompt_tokens AS p, completion_tokens AS c, cost_usd AS usd"
            f" FROM {days} UNION ALL SELECT COUNT(*), SUM(prompt_tokens),"
            f" SUM(completion_tokens), SUM(cost_usd) FROM {rows})",
            {"day": day, "since": since, "user": user_id},
        ) as cursor:
            row = await cursor.fetchone()
        return UsageTotals(*row) if row else UsageTotals()

    @_translated
    async def usage_by(
        self, column: Literal["user_id", "chat_id"], *, day: float, month: float, limit: int
    ) -> list[UsageRow]:
        assert column in ("user_id", "chat_id")  # the column name is never user input
        sums = ", ".join(
            f"SUM(CASE WHEN at >= {bound} THEN {value} ELSE 0 END)"
            for bound in (":day", ":month", "0")
            for value in ("1", "prompt_tokens", "completion_tokens", "COALESCE(cost_usd, 0)")
        )
        async with self.db.execute(
            f"SELECT {column}, {sums} FROM usage WHERE {column} IS NOT NULL GROUP BY {column}"
            " ORDER BY SUM(COALESCE(cost_usd, 0)) DESC,"
            " SUM(prompt_tokens + completion_tokens) DESC LIMIT :limit",
            {"day": day, "month": month, "limit": limit},
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            UsageRow(
                key=str(row[0]),
                today=UsageTotals(*row[1:5]),
                month=UsageTotals(*row[5:9]),
                all_time=UsageTotals(*row[9:13]),
            )
            for row in rows
        ]

    # -- conversation controls (issue 9) ---------------------------------------------------

    @_translated
    async def chat_settings(self, chat_id: str) -> ChatSettings:
        async with self.db.execute(
            "SELECT model, persona, system_prompt FROM chats WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return ChatSettings(*row) if row else ChatSettings()

    @_translated
    async def set_chat_persona(
        self, chat_id: str, persona: str | None, *, keep_model: bool
    ) -> None:
        model = "chats.model" if keep_model else "NULL"
        await self._write_one(
            "INSERT INTO chats (chat_id, persona) VALUES (?, ?) ON CONFLICT (chat_id) DO UPDATE"
            f" SET persona = excluded.persona, system_prompt = NULL, model = {model}",
            (chat_id, persona),
        )

    @_translated
    async def set_chat_system_prompt(self, chat_id: str, prompt: str | None) -> None:
        await self._write_one(
            "INSERT INTO chats (chat_id, system_prompt) VALUES (?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET system_prompt = excluded.system_prompt",
            (chat_id, prompt),
        )

    @_translated
    async def answered_turns(self, chat_id: str) -> list[Turn]:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered' ORDER BY id",
            (chat_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in rows]

    @_translated
    async def chat_summary(self, chat_id: str) -> Summary | None:
        async with self.db.execute(
            "SELECT text, covers_to FROM chat_summaries WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Summary(row[0], row[1]) if row else None

    @_translated
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

    @_translated
    async def record_usage(self, chat_id: str, usage: Usage, *, now: float) -> None:
        async with self._transaction():
            await self._record_usage(chat_id, None, None, usage, now)

    @_translated
    async def token_calibrations(self) -> dict[str, Calibration]:
        async with self.db.execute(
            "SELECT model, bytes_per_token, samples FROM token_calibration"
        ) as cursor:
            rows = await cursor.fetchall()
        return {row[0]: Calibration(row[1], row[2]) for row in rows}

    @_translated
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
