"""Tool calls stored with their turns (migration 0008), and the upgrade of an older file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import sqlite
from bot.storage.records import NewTurn, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations

TOOL_CALLS_VERSION = 8
BEFORE = 6  # the release before: 0007 (issue 15's attachments) may or may not be there
EXCHANGE = '[{"role":"tool","tool_call_id":"c1","content":"12:00"}]'


class TestStoredCalls:
    async def test_tool_calls_are_stored_with_the_answer(self, storage: Stores) -> None:
        """The exchange saved with the answer comes back from every read; none is None."""
        turn = await storage.turns.add(NewTurn("c", "what time?"), now=1.0)
        plain = await storage.turns.add(NewTurn("c", "hello"), now=1.0)
        assert turn is not None and plain is not None
        usage = Usage("m", 1, 1, None)
        await storage.turns.save_answer(turn.id, "noon", usage, now=2.0, tool_calls=EXCHANGE)
        await storage.turns.save_answer(plain.id, "hi", usage, now=2.0)
        for done in (turn, plain):
            await storage.turns.mark_answered(done.id, now=3.0)
        [timed, greeted] = await storage.turns.recent("c", 10)
        assert timed.tool_calls == EXCHANGE
        assert greeted.tool_calls is None


class TestUpgrade:
    async def test_file_of_0006_is_upgraded_to_0008(self, tmp_path: Path) -> None:
        """A database at 0006 gains tool_calls (NULL for old turns), without needing 0007."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as db:
            for version, script in migrations():
                if version <= BEFORE:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {version}")
            db.execute(
                "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
                " VALUES ('tg:1', 'old question', 'old answer', 'answered', 1, 1)"
            )
        database = Database(path)
        await database.open()
        try:
            store = sqlite.stores(database)
            assert await database.schema_version() == migrations()[-1][0] >= TOOL_CALLS_VERSION
            [old] = await store.turns.recent("tg:1", 10)
            assert (old.answer, old.tool_calls) == ("old answer", None)
            new = await store.turns.add(NewTurn("tg:1", "time?"), now=2.0)
            assert new is not None
            usage = Usage("m", 1, 1, None)
            await store.turns.save_answer(new.id, "noon", usage, now=3.0, tool_calls=EXCHANGE)
            stored = await store.turns.get(new.id)
            assert stored is not None and stored.tool_calls == EXCHANGE
        finally:
            await database.close()
