"""A chat's numbered conversations (migration 0006), and the upgrade of an older file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.engine.conversation import identity
from bot.storage import sqlite
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations

CONVERSATIONS_VERSION = 6


class TestConversations:
    async def test_a_chat_without_rows_is_in_conversation_one(self, storage: Stores) -> None:
        """No /new yet: conversation 1 is current and nothing is listed."""
        assert await storage.conversations.current("tg:1") == 1
        assert await storage.conversations.recent("tg:1", 10) == []

    async def test_create_numbers_on_and_lists_the_one_left(self, storage: Stores) -> None:
        """/new makes 2, then 3 current; the one left gets a row; recent lists newest first."""
        repo = storage.conversations
        assert await repo.create("tg:1", now=1.0) == 2
        assert await repo.create("tg:1", now=2.0) == 3
        assert await repo.current("tg:1") == 3
        assert [r.number for r in await repo.recent("tg:1", 10)] == [3, 2, 1]
        assert await repo.current("tg:2") == 1  # another chat is untouched

    async def test_switch_only_to_a_known_conversation(self, storage: Stores) -> None:
        """Switching to a listed number (or 1) works and marks it used; an unknown one fails."""
        repo = storage.conversations
        await repo.create("tg:1", now=1.0)
        assert not await repo.switch("tg:1", 7, now=2.0)
        assert await repo.switch("tg:1", 1, now=3.0)
        assert await repo.current("tg:1") == 1
        assert [r.number for r in await repo.recent("tg:1", 10)] == [1, 2]
        assert await repo.create("tg:1", now=4.0) == 3  # numbers are never reused

    async def test_titles(self, storage: Stores) -> None:
        """A title is stored for a conversation, making its row if it had none."""
        await storage.conversations.set_title("tg:1", 1, "Trip", now=1.0)
        record = await storage.conversations.get("tg:1", 1)
        assert record is not None and record.title == "Trip"
        assert await storage.conversations.get("tg:1", 2) is None


class TestUpgrade:
    async def test_file_of_the_previous_release_keeps_every_chat(self, tmp_path: Path) -> None:
        """A database made by the current release (migrations before 0006) is upgraded in
        place: every chat and topic is in its conversation 1 with its history, summary and
        settings intact, and /new then starts conversation 2."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as db:
            for version, script in migrations():
                if version < CONVERSATIONS_VERSION:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {version}")
            db.executemany(
                "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
                " VALUES (?, ?, ?, 'answered', 1, 1)",
                [("tg:1", "q1", "a1"), ("tg:-5:t9", "topic q", "topic a"), ("tg:1", "q2", "a2")],
            )
            db.execute("INSERT INTO chats (chat_id, model) VALUES ('tg:1', 'gpt-other')")
            db.execute(
                "INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at)"
                " VALUES ('tg:1', 'summary', 1, 1)"
            )
        database = Database(path)
        await database.open()
        try:
            store = sqlite.stores(database)
            assert await database.schema_version() == migrations()[-1][0] >= CONVERSATIONS_VERSION
            for base in ("tg:1", "tg:-5:t9"):
                number = await store.conversations.current(base)
                assert identity.numbered(base, number) == base
            assert [t.user_text for t in await store.turns.recent("tg:1", 10)] == ["q1", "q2"]
            assert [t.answer for t in await store.turns.recent("tg:-5:t9", 10)] == ["topic a"]
            assert (await store.chats.settings("tg:1")).model == "gpt-other"
            summary = await store.summaries.get("tg:1")
            assert summary is not None and summary.text == "summary"
            assert await store.conversations.create("tg:1", now=2.0) == 2
            assert await store.turns.recent("tg:1:c2", 10) == []
        finally:
            await database.close()


class TestRetention:
    async def test_titles_of_old_conversations_are_forgotten(self, storage: Stores) -> None:
        """Retention drops the titles of conversations started before its cutoff (each title
        comes from a first question retention deletes); newer titles stay."""
        repo = storage.conversations
        await repo.create("tg:1", now=10.0)  # conversation 1 (row made at 10) and 2
        await repo.set_title("tg:1", 1, "Flights to Lisbon", now=10.0)
        await repo.set_title("tg:1", 2, "Old plans", now=10.0)
        await repo.create("tg:1", now=100.0)  # conversation 3, started later
        await repo.set_title("tg:1", 3, "Dinner", now=100.0)
        assert await repo.forget_titles_before(50.0) == 2
        assert await repo.forget_titles_before(50.0) == 0
        titles = {r.number: r.title for r in await repo.recent("tg:1", 10)}
        assert titles == {1: None, 2: None, 3: "Dinner"}
