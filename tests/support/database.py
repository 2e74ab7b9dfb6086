"""Reading the bot's SQLite file directly, as a test checks what was stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.support.running import RunningBot


def database(bot: RunningBot) -> Path:
    """The bot's database file."""
    return Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))


def db_rows(bot: RunningBot, sql: str) -> list[tuple[Any, ...]]:
    """The rows a query returns (as sqlite3 gives them: untyped)."""
    with sqlite3.connect(database(bot)) as db:
        return db.execute(sql).fetchall()


def stored_turns(bot: RunningBot) -> list[tuple[str, str, str | None]]:
    """(user_text, state, error_type) of every stored turn, oldest first."""
    with sqlite3.connect(database(bot)) as db:
        return db.execute("SELECT user_text, state, error_type FROM turns ORDER BY id").fetchall()


def integrity(path: Path) -> str:
    """SQLite's own verdict on the file: "ok" when nothing is corrupt."""
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def fill_turns(
    path: Path,
    chat_id: str,
    count: int,
    *,
    created_at: float,
    text: str = "question {n}",
    answer: str = "answer {n}",
) -> None:
    """Store `count` answered turns straight into the database (its schema must exist), in
    one transaction and without holding them all in memory."""
    rows = (
        (chat_id, text.format(n=n), answer.format(n=n), "gpt-test", at, at)
        for n in range(count)
        for at in (created_at + n * 0.001,)
    )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO turns (chat_id, user_text, answer, model, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'answered', ?, ?)",
            rows,
        )
