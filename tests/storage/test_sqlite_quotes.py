"""Quotes stored with their turns (migration 0005), and the upgrade of an older file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import sqlite
from bot.storage.records import NewTurn, Quote, TurnState, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations

QUOTES_VERSION = 5


class TestQuotedTurns:
    async def test_quote_is_stored_and_read_back(self, storage: Stores) -> None:
        """A turn's quote (text, author, whether it is the bot's) comes back from every read."""
        quote = Quote("Bonjour", "Bob")
        added = await storage.turns.add(NewTurn("c", "translate", quote=quote), now=1.0)
        mine = Quote("x", None, own=True)
        own = await storage.turns.add(NewTurn("c", "why?", quote=mine), now=1.0)
        assert added is not None and own is not None
        assert added.quote == quote
        assert [t.quote for t in await storage.turns.unfinished()] == [quote, mine]
        await storage.turns.save_answer(added.id, "Hello", Usage("m", 1, 1, None), now=2.0)
        await storage.turns.mark_answered(added.id, now=3.0)
        [answered] = await storage.turns.recent("c", 10)
        assert answered.quote == quote

    async def test_turn_without_a_quote(self, storage: Stores) -> None:
        """A plain message has no quote."""
        added = await storage.turns.add(NewTurn("c", "hello"), now=1.0)
        assert added is not None and added.quote is None


class TestUpgrade:
    async def test_file_of_the_previous_schema_keeps_every_turn(self, tmp_path: Path) -> None:
        """A database made by the current release (every migration before 0005) is upgraded in
        place: its turns, answered and unfinished, are kept unquoted; new turns take quotes."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as db:
            for version, script in migrations():
                if version < QUOTES_VERSION:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {version}")
            db.executemany(
                "INSERT INTO turns (chat_id, user_text, answer, state, speaker, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, 1, 1)",
                [
                    ("tg:1", "old question", "old answer", "answered", None),
                    ("tg:-5", "group question", "group answer", "answered", "Alice"),
                    ("tg:1", "waiting", None, "pending", None),
                ],
            )
        database = Database(path)
        await database.open()
        try:
            store = sqlite.stores(database)
            assert await database.schema_version() == migrations()[-1][0] >= QUOTES_VERSION
            [private] = await store.turns.recent("tg:1", 10)
            [group] = await store.turns.recent("tg:-5", 10)
            [pending] = await store.turns.unfinished()
            assert (private.user_text, private.answer, private.quote) == (
                "old question",
                "old answer",
                None,
            )
            assert (group.speaker, group.answer, group.quote) == ("Alice", "group answer", None)
            assert pending.state is TurnState.PENDING and pending.quote is None
            quote = Quote("old answer", None, own=True)
            added = await store.turns.add(NewTurn("tg:1", "why?", quote=quote), now=2.0)
            assert added is not None and added.quote == quote
        finally:
            await database.close()
