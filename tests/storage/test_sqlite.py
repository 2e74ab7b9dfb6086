"""SQLite storage on a real file: migrations, de-duplication, atomic turns, clearing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.storage import sqlite
from bot.storage.errors import StorageError
from bot.storage.records import NewTurn, TurnState, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations


async def answered(store: Stores, chat: str, text: str, key: str | None = None) -> int:
    turn = await store.turns.add(NewTurn(chat, text, source_key=key), now=1.0)
    assert turn is not None
    await store.turns.save_answer(turn.id, f"re: {text}", Usage("m", 10, 5, 0.5), now=2.0)
    await store.turns.mark_answered(turn.id, now=3.0)
    return turn.id


class TestSchema:
    async def test_new_file_gets_latest_schema_in_wal_mode(self, database: Database) -> None:
        """A new database is created with its folder, at the newest version, in WAL mode."""
        assert database.path.exists()
        assert await database.schema_version() == migrations()[-1][0]
        async with database.connection.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone()) == ("wal",)

    async def test_reopening_keeps_data(self, tmp_path: Path) -> None:
        """Closing and reopening (a restart) keeps every turn and does not re-run migrations."""
        database = Database(tmp_path / "bot.db")
        await database.open()
        await answered(sqlite.stores(database), "c", "hello")
        await database.close()
        await database.open()
        turns = await sqlite.stores(database).turns.recent("c", 10)
        await database.close()
        assert [t.user_text for t in turns] == ["hello"]

    async def test_upgrade_from_an_older_version_keeps_data(self, tmp_path: Path) -> None:
        """A file at an older schema version is upgraded in place without losing rows."""
        path = tmp_path / "old.db"
        first = migrations()[0]
        with sqlite3.connect(path) as db:
            db.executescript(first[1])
            db.execute(f"PRAGMA user_version = {first[0]}")
            db.execute(
                "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
                " VALUES ('c', 'old question', 'old answer', 'answered', 1, 1)"
            )
        database = Database(path)
        await database.open()
        turns = await sqlite.stores(database).turns.recent("c", 10)
        version = await database.schema_version()
        await database.close()
        assert [t.answer for t in turns] == ["old answer"]
        assert version == migrations()[-1][0]


class TestTurns:
    async def test_same_source_key_is_stored_once(self, storage: Stores) -> None:
        """A re-delivered message (same source key) is not stored a second time."""
        first = await storage.turns.add(NewTurn("c", "hi", source_key="u1"), now=1.0)
        again = await storage.turns.add(NewTurn("c", "hi", source_key="u1"), now=2.0)
        assert first is not None and first.state is TurnState.PENDING
        assert again is None

    async def test_only_answered_turns_are_history(self, storage: Stores) -> None:
        """Pending, generated and failed turns never appear in the context window."""
        await answered(storage, "c", "one")
        pending = await storage.turns.add(NewTurn("c", "pending"), now=1.0)
        failed = await storage.turns.add(NewTurn("c", "failed"), now=1.0)
        generated = await storage.turns.add(NewTurn("c", "generated"), now=1.0)
        assert pending and failed and generated
        await storage.turns.mark_failed(failed.id, "timeout", now=2.0)
        await storage.turns.save_answer(generated.id, "x", Usage("m", 1, 1, None), now=2.0)
        assert [t.user_text for t in await storage.turns.recent("c", 10)] == ["one"]
        unfinished = await storage.turns.unfinished()
        assert [t.user_text for t in unfinished] == ["pending", "generated"]

    async def test_recent_turns_are_the_newest_oldest_first(self, storage: Stores) -> None:
        """The window is the newest N turns, returned in conversation order."""
        for n in range(5):
            await answered(storage, "c", f"q{n}")
        assert [t.user_text for t in await storage.turns.recent("c", 2)] == ["q3", "q4"]

    async def test_answer_and_usage_are_counted(self, storage: Stores) -> None:
        """Saving an answer updates the chat's counters in the same transaction."""
        await answered(storage, "c", "one")
        await answered(storage, "c", "two")
        stats = await storage.chats.stats("c")
        assert (stats.messages_in_memory, stats.requests) == (4, 2)
        assert (stats.prompt_tokens, stats.completion_tokens) == (20, 10)
        assert stats.cost_usd == pytest.approx(1.0)

    async def test_answer_to_a_turn_gone_meanwhile_stores_nothing(self, storage: Stores) -> None:
        """An answer whose turn went while it was written (a /clear) is not stored, and its
        usage is not counted."""
        turn = await storage.turns.add(NewTurn("c", "hi"), now=1.0)
        assert turn is not None
        await storage.turns.mark_failed(turn.id, "timeout", now=2.0)
        await storage.turns.clear_chat("c")
        await storage.turns.save_answer(turn.id, "late", Usage("m", 10, 5, 0.5), now=3.0)
        assert await storage.turns.get(turn.id) is None
        assert (await storage.chats.stats("c")).requests == 0

    async def test_clear_forgets_one_chat_only(self, storage: Stores) -> None:
        """Clearing a chat removes its history, keeps other chats and its counters."""
        await answered(storage, "a", "mine")
        await answered(storage, "b", "yours")
        assert await storage.turns.clear_chat("a") == 1
        assert await storage.turns.recent("a", 10) == []
        assert [t.user_text for t in await storage.turns.recent("b", 10)] == ["yours"]
        assert (await storage.chats.stats("a")).requests == 1

    async def test_chat_model_is_remembered(self, storage: Stores) -> None:
        """A chat's chosen model is stored and survives clearing its history."""
        assert (await storage.chats.settings("c")).model is None
        await storage.chats.set_model("c", "big")
        await storage.turns.clear_chat("c")
        assert (await storage.chats.settings("c")).model == "big"

    async def test_context_read_uses_the_index(self, database: Database) -> None:
        """The window query is an index search, never a scan of the whole table."""
        async with database.connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = 'c' AND state = 'answered' ORDER BY id DESC LIMIT 5"
        ) as cursor:
            plan = " ".join(str(row[-1]) for row in await cursor.fetchall())
        assert "USING" in plan and "INDEX turns_answered_by_chat" in plan
        assert "TEMP B-TREE" not in plan


class TestReplacing:
    async def test_answered_retry_takes_the_old_turns_place(self, storage: Stores) -> None:
        """When a /retry turn is answered, the turn it replaces leaves the history, atomically."""
        old = await answered(storage, "c", "joke")
        retry = await storage.turns.add(NewTurn("c", "joke", replaces=old), now=4.0)
        assert retry is not None and retry.replaces == old
        await storage.turns.save_answer(retry.id, "better", Usage("m", 1, 1, None), now=5.0)
        assert [t.answer for t in await storage.turns.recent("c", 10)] == ["re: joke"]
        await storage.turns.mark_answered(retry.id, now=6.0)
        assert [t.answer for t in await storage.turns.recent("c", 10)] == ["better"]
        assert await storage.turns.get(old) is None

    async def test_last_finished_turn(self, storage: Stores) -> None:
        """The newest answered or failed turn of the chat; unfinished ones are skipped."""
        assert await storage.turns.last_finished("c") is None
        await answered(storage, "c", "one")
        failed = await storage.turns.add(NewTurn("c", "two"), now=1.0)
        assert failed is not None
        await storage.turns.mark_failed(failed.id, "timeout", now=2.0)
        await storage.turns.add(NewTurn("c", "three"), now=3.0)
        last = await storage.turns.last_finished("c")
        assert last is not None and last.user_text == "two"

    async def test_failing_a_settled_turn_changes_nothing(self, storage: Stores) -> None:
        """mark_failed on an answered turn leaves it answered (a late refusal loses nothing)."""
        turn_id = await answered(storage, "c", "one")
        await storage.turns.mark_failed(turn_id, "undeliverable", now=9.0)
        turn = await storage.turns.get(turn_id)
        assert turn is not None and turn.state is TurnState.ANSWERED

    async def test_sent_at_is_the_turns_age(self, storage: Stores) -> None:
        """A message's own send time is kept as created_at (what its age is measured from)."""
        turn = await storage.turns.add(NewTurn("c", "hi", sent_at=100.0), now=500.0)
        assert turn is not None and turn.created_at == 100.0


class TestFailures:
    async def test_locked_database_raises_storage_error(self, tmp_path: Path) -> None:
        """Another process holding the write lock past the busy timeout: StorageError."""
        database = Database(tmp_path / "bot.db", busy_timeout_ms=50)
        await database.open()
        store = sqlite.stores(database)
        other = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StorageError, match="database is locked"):
                await store.turns.add(NewTurn("c", "hi"), now=1.0)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await store.turns.add(NewTurn("c", "hi"), now=1.0) is not None
        await database.close()

    async def test_failed_transaction_leaves_the_connection_usable(
        self, storage: Stores, database: Database
    ) -> None:
        """A write refused mid-transaction is rolled back whole; later writes work."""
        turn = await storage.turns.add(NewTurn("c", "hi"), now=1.0)
        assert turn is not None
        await database.connection.execute("PRAGMA query_only = ON")
        with pytest.raises(StorageError, match="readonly"):
            await storage.turns.save_answer(turn.id, "x", Usage("m", 1, 1, None), now=2.0)
        assert not database.connection.in_transaction
        await database.connection.execute("PRAGMA query_only = OFF")
        await storage.turns.save_answer(turn.id, "x", Usage("m", 1, 1, None), now=3.0)
        stored = await storage.turns.get(turn.id)
        assert stored is not None and stored.state is TurnState.GENERATED
        assert (await storage.chats.stats("c")).requests == 1
