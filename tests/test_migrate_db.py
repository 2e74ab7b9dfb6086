"""`python -m bot migrate-db`: a SQLite database copied into PostgreSQL, twice, verified."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import postgres, sqlite
from bot.storage.postgres import PostgresDatabase
from bot.storage.records import Attachment, AttachmentKind, Calibration, NewTurn, Summary, Usage
from bot.storage.sqlite import Database, ProcessLock
from bot.storage.transfer import TABLES, copy_database
from tests.support.cli import run_bot
from tests.support.database import fill_turns
from tests.support.services import PostgresSchema, postgres_rows, postgres_schema

TURNS = 10_000
PHOTO = Attachment(
    AttachmentKind.IMAGE, "photo-1", mime_type="image/jpeg", size=3, data=b"\xff\xd8\x00"
)


@pytest.fixture
async def schema() -> AsyncIterator[PostgresSchema]:
    async with postgres_schema() as made:
        yield made


@pytest.fixture
async def filled(tmp_path: Path) -> Path:
    """A SQLite file as the SQLite release leaves it: 10,000 answered turns and a row in
    every other table."""
    path = tmp_path / "bot.db"
    database = Database(path)
    await database.open()
    fill_turns(path, "tg:1", TURNS, created_at=1_700_000_000.0)
    stores = sqlite.stores(database)
    turn = await stores.turns.add(NewTurn("tg:2", "hi", source_key="k", user_id="7"), now=2e9)
    assert turn is not None
    await stores.turns.save_answer(turn.id, "hello", Usage("gpt", 3, 4, 0.25), now=2e9)
    await stores.turns.mark_answered(turn.id, now=2e9)
    await stores.chats.set_persona("tg:2", "pirate", keep_model=False)
    await stores.summaries.save("tg:2", Summary("so far", turn.id), previous=None, now=2e9)
    await stores.calibrations.save("gpt", Calibration(4.2, 3), now=2e9)
    await stores.conversations.create("tg:2", now=2e9)
    await stores.conversations.set_title("tg:2", 2, "Pirates", now=2e9)
    await stores.attachments.add(turn.id, [PHOTO])
    await stores.chat_media.set_voice_replies("tg:2", True)
    await database.close()
    return path


class TestMigrateDb:
    async def test_copies_everything_twice_without_doubling(
        self, filled: Path, schema: PostgresSchema, tmp_path: Path
    ) -> None:
        """Run twice on 10,000 turns: both runs exit 0 and report matching counts; the rows
        are there once; the bot on PostgreSQL numbers new turns after the copied ones."""
        args = ("migrate-db", "--from", f"sqlite:///{filled}", "--to", schema.url)
        first = run_bot({}, tmp_path, *args)
        second = run_bot({}, tmp_path, *args)
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        for run in (first, second):
            assert f"turns: {TURNS + 1} in SQLite, {TURNS + 1} in PostgreSQL ok" in run.stdout
            assert "Verified" in run.stdout
        assert await postgres_rows(schema.url, "SELECT COUNT(*) FROM turns") == [(TURNS + 1,)]
        database = PostgresDatabase(schema.url)
        await database.open()
        stores = postgres.stores(database)
        settings = await stores.chats.settings("tg:2")
        stats = await stores.chats.stats("tg:2")
        titles = [c.title for c in await stores.conversations.recent("tg:2", 5)]
        photos = (await stores.attachments.of_turns([TURNS + 1]))[TURNS + 1]
        voice = await stores.chat_media.voice_replies("tg:2")
        added = await stores.turns.add(NewTurn("tg:3", "new"), now=2e9)
        await database.close()
        assert settings.persona == "pirate"
        assert (stats.requests, stats.cost_usd) == (1, 0.25)
        assert "Pirates" in titles
        assert [(p.file_id, p.data) for p in photos] == [("photo-1", b"\xff\xd8\x00")] and voice
        assert added is not None and added.id == TURNS + 2

    async def test_an_interrupted_copy_finishes_on_the_next_run(
        self, filled: Path, schema: PostgresSchema
    ) -> None:
        """A copy that stops after its first batch of turns is completed by the next run."""

        def stop_early(table: str, done: int) -> None:
            if table == "turns" and done >= 1000:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await copy_database(filled, schema.url, progress=stop_early)
        assert await postgres_rows(schema.url, "SELECT COUNT(*) FROM turns") == [(1000,)]
        counts = await copy_database(filled, schema.url)
        assert [c.table for c in counts] == [t for t, _ in TABLES]
        assert all(c.matches and c.source > 0 for c in counts), counts

    async def test_refuses_while_the_bot_holds_the_file(
        self, filled: Path, schema: PostgresSchema, tmp_path: Path
    ) -> None:
        """With the bot running on the file, nothing is copied and the user is told why."""
        claim = ProcessLock(filled)
        claim.acquire()
        try:
            result = run_bot(
                {}, tmp_path, "migrate-db", "--from", f"sqlite:///{filled}", "--to", schema.url
            )
        finally:
            claim.release()
        assert result.returncode == 1
        assert "stop the bot first" in result.stderr
        assert await postgres_rows(
            schema.url, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"
        ) == [(0,)]

    def test_wrong_urls_are_a_usage_error(self, tmp_path: Path) -> None:
        """--from must be a SQLite file and --to a PostgreSQL URL: exit code 2."""
        result = run_bot({}, tmp_path, "migrate-db", "--from", "postgresql://x/y", "--to", "z")
        assert result.returncode == 2
        assert "--from sqlite:///file --to postgresql://" in result.stderr
