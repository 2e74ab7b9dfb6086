"""The PostgreSQL backend's own specs: migrations in its dialect, upgrades, failures.

What the repositories do is specified once, in the tests parametrised over both backends."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.storage import postgres
from bot.storage.errors import StorageError
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.database import migrations as postgres_migrations
from bot.storage.records import NewTurn, Usage
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.database import migrations as sqlite_migrations
from tests.support.services import PostgresSchema, postgres_schema

POSTGRES_ONLY = 1001  # PostgreSQL's own migrations (the inbox, the leases) start here
SQLITE_FOLDER = Path(sqlite_migrations.__code__.co_filename).parent / "migrations"
POSTGRES_FOLDER = Path(postgres_migrations.__code__.co_filename).parent / "migrations"


@pytest.fixture
async def schema() -> AsyncIterator[PostgresSchema]:
    async with postgres_schema() as made:
        yield made


async def columns_of_postgres(url: str) -> set[tuple[str, str]]:
    database = PostgresDatabase(url)
    await database.open()
    rows = await database.fetch_all(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
        " AND table_name NOT IN ('schema_migrations', 'update_inbox', 'chat_leases')"
    )
    await database.close()
    return {(row[0], row[1]) for row in rows}


def columns_of_sqlite(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        tables = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        return {(t, row[1]) for t in tables for row in db.execute(f"PRAGMA table_info({t})")}


class TestMigrations:
    def test_every_sqlite_migration_has_a_postgres_counterpart(self) -> None:
        """Each SQLite migration file has a PostgreSQL file of the same name (the port of a
        new SQLite migration cannot be forgotten); PostgreSQL's own are numbered from 1001."""
        sqlite_names = sorted(p.name for p in SQLITE_FOLDER.glob("*.sql"))
        postgres_names = sorted(p.name for p in POSTGRES_FOLDER.glob("*.sql"))
        own = [n for n in postgres_names if int(n.split("_", 1)[0]) >= POSTGRES_ONLY]
        assert [n for n in postgres_names if n not in own] == sqlite_names
        assert own == ["1001_update_inbox.sql", "1002_chat_leases.sql"]

    async def test_fresh_database_has_the_same_tables_and_columns(
        self, schema: PostgresSchema, tmp_path: Path
    ) -> None:
        """A new PostgreSQL database gets every table and column a new SQLite file gets."""
        lite = Database(tmp_path / "bot.db")
        await lite.open()
        await lite.close()
        assert await columns_of_postgres(schema.url) == columns_of_sqlite(tmp_path / "bot.db")

    async def test_fresh_database_is_at_the_newest_version(self, schema: PostgresSchema) -> None:
        """Opening an empty database applies every migration and records each version."""
        database = PostgresDatabase(schema.url)
        await database.open()
        versions = [r[0] for r in await database.fetch_all("SELECT version FROM schema_migrations")]
        await database.close()
        assert versions == [v for v, _ in postgres_migrations()]

    @pytest.mark.parametrize("version", [v for v, _ in postgres_migrations()[:-1]])
    async def test_upgrade_from_every_earlier_version_keeps_data(
        self, schema: PostgresSchema, version: int
    ) -> None:
        """A database at any earlier version upgrades in place: its turns and usage stay,
        and the per-day totals (0004) are added up from the usage it had."""
        old = PostgresDatabase(schema.url)
        await old.open(target=version)
        await old.write(
            "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
            " VALUES ('c', 'old question', 'old answer', 'answered', 1, 1)"
        )
        await old.write(
            "INSERT INTO usage (chat_id, user_id, model, prompt_tokens, completion_tokens,"
            " cost_usd, at) VALUES ('c', 'u', 'm', 10, 5, 0.5, 86400.5)"
        )
        await old.close()
        database = PostgresDatabase(schema.url)
        await database.open()
        stores = postgres.stores(database)
        turns = await stores.turns.recent("c", 10)
        totals = await stores.usage.totals(since=0, user_id="u")
        rows = await stores.usage.by("user_id", day=0, month=0, limit=5)
        newest = await database.schema_version()
        await database.close()
        assert [t.answer for t in turns] == ["old answer"]
        assert [(r.key, r.all_time.requests) for r in rows] == [("u", 1)]
        if version < 4:  # added up by 0004; later rows are added up by the code that writes
            assert (totals.requests, totals.prompt_tokens, totals.cost_usd) == (1, 10, 0.5)
        assert newest == postgres_migrations()[-1][0]

    async def test_replicas_starting_together_migrate_once(self, schema: PostgresSchema) -> None:
        """Three processes opening one empty database at once all start; each migration is
        applied once (they wait on one advisory lock)."""
        databases = [PostgresDatabase(schema.url) for _ in range(3)]
        await asyncio.gather(*(d.open() for d in databases))
        rows = await databases[0].fetch_all("SELECT version FROM schema_migrations")
        await asyncio.gather(*(d.close() for d in databases))
        assert len(rows) == len(postgres_migrations())


class TestFailures:
    async def test_unreachable_server_is_a_storage_error(self) -> None:
        """A server that does not answer makes open() raise StorageError, not a driver error."""
        database = PostgresDatabase("postgresql://postgres@127.0.0.1:9/none")
        with pytest.raises(StorageError):
            await database.open()

    async def test_failed_transaction_is_rolled_back_and_the_pool_stays_usable(
        self, postgres_database: PostgresDatabase
    ) -> None:
        """A statement failing inside a transaction undoes the whole transaction, leaves as
        StorageError, and the next operation succeeds."""
        stores = postgres.stores(postgres_database)
        with pytest.raises(StorageError):
            async with postgres_database.transaction() as db:
                await db.execute("INSERT INTO chats (chat_id) VALUES ('kept-out')")
                await db.execute("INSERT INTO no_such_table VALUES (1)")
        assert await postgres_database.fetch_one("SELECT 1 FROM chats") is None
        turn = await stores.turns.add(NewTurn("c", "hello"), now=1.0)
        assert turn is not None
        await stores.turns.save_answer(turn.id, "hi", Usage("m", 1, 1, None), now=2.0)
        assert (await stores.chats.stats("c")).requests == 1


class TestInbox:
    async def test_recorded_updates_are_listed_by_conversation_until_settled(
        self, postgres_database: PostgresDatabase
    ) -> None:
        """Recorded twice is recorded once; a conversation's updates come in update_id order
        (but those named in `besides`); a settled update is gone."""
        inbox = postgres.stores(postgres_database).inbox
        assert inbox is not None
        for update_id, key in [(3, "tg:1"), (1, "tg:1"), (2, "tg:2"), (1, "tg:9")]:
            await inbox.record(update_id, f'{{"update_id": {update_id}}}', key, now=1.0)
        rows = await inbox.of_chats(["tg:1", "tg:2"], besides=[], limit=10)
        assert [(r[0], r[1]) for r in rows] == [(1, "tg:1"), (2, "tg:2"), (3, "tg:1")]
        assert [r[0] for r in await inbox.of_chats(["tg:1"], besides=[1], limit=10)] == [3]
        await inbox.settle(1)
        assert [r[0] for r in await inbox.of_chats(["tg:1"], besides=[], limit=10)] == [3]

    async def test_free_chats_are_those_without_a_live_lease_oldest_first(
        self, postgres_database: PostgresDatabase
    ) -> None:
        stores = postgres.stores(postgres_database)
        inbox, leases = stores.inbox, stores.leases
        assert inbox is not None and leases is not None
        for update_id, key in [(5, "tg:b"), (6, "tg:a"), (7, "tg:c")]:
            await inbox.record(update_id, "{}", key, now=1.0)
        assert await inbox.free_chats(10) == ["tg:b", "tg:a", "tg:c"]
        await leases.claim("tg:a", "r1", 30)
        await leases.claim("tg:c", "r1", -1)  # expired at once: free again
        assert await inbox.free_chats(10) == ["tg:b", "tg:c"]

    async def test_every_listener_is_woken_with_the_conversation_of_a_recorded_update(
        self, postgres_database: PostgresDatabase
    ) -> None:
        """Two replicas listen; a third records: both are woken with the key. A listener on
        another schema (another bot on the same database) is not."""
        woken: list[list[str]] = [[], [], []]
        inbox = postgres.stores(postgres_database).inbox
        assert inbox is not None
        async with postgres_schema() as elsewhere:
            other = PostgresDatabase(elsewhere.url)
            await other.open()
            listeners = [postgres.stores(postgres_database).inbox for _ in range(2)]
            listeners.append(postgres.stores(other).inbox)
            tasks = [
                asyncio.create_task(listener.listen(woken[n].append))  # type: ignore[union-attr]
                for n, listener in enumerate(listeners)
            ]
            try:
                await wait_until(lambda: all("" in w for w in woken))  # listening
                await inbox.record(1, "{}", "tg:42", now=1.0)
                await wait_until(lambda: all("tg:42" in w for w in woken[:2]))
                await asyncio.sleep(0.2)
                assert "tg:42" not in woken[2]
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await other.close()


class TestLeases:
    async def test_one_claim_wins_among_many_at_once(
        self, postgres_database: PostgresDatabase
    ) -> None:
        """Ten replicas claim one conversation at the same moment: exactly one gets it."""
        leases = postgres.stores(postgres_database).leases
        assert leases is not None
        won = await asyncio.gather(*(leases.claim("tg:1", f"r{n}", 30) for n in range(10)))
        assert sum(result is not None for result in won) == 1
        assert [r for r in won if r is not None] == [""]  # nobody held it before

    async def test_a_live_lease_is_kept_an_expired_one_taken_over_with_its_holder_named(
        self, postgres_database: PostgresDatabase
    ) -> None:
        leases = postgres.stores(postgres_database).leases
        assert leases is not None
        assert await leases.claim("tg:1", "r1", 30) == ""
        assert await leases.claim("tg:1", "r2", 30) is None
        assert await leases.claim("tg:1", "r1", 30) == "r1"  # its own (a previous run's)
        assert await leases.claim("tg:2", "r1", 0.2) == ""
        await asyncio.sleep(0.3)
        assert await leases.claim("tg:2", "r2", 30) == "r1"  # expired: taken over

    async def test_renew_extends_only_the_holders_leases_and_release_gives_them_up(
        self, postgres_database: PostgresDatabase
    ) -> None:
        leases = postgres.stores(postgres_database).leases
        assert leases is not None
        await leases.claim("tg:1", "r1", 0.3)
        await leases.claim("tg:2", "r1", 0.3)
        await leases.claim("tg:3", "r2", 0.3)
        renewed = await leases.renew("r1", ["tg:1", "tg:2", "tg:3"], 30)
        assert sorted(renewed) == ["tg:1", "tg:2"]  # tg:3 is r2's
        await asyncio.sleep(0.4)
        assert await leases.claim("tg:1", "r2", 30) is None  # renewed: still r1's
        assert await leases.claim("tg:3", "r1", 30) == "r2"  # not renewed: expired
        assert await leases.release("tg:1", "r2") is False  # not r2's to give up
        assert await leases.release("tg:1", "r1") is True
        assert await leases.claim("tg:1", "r2", 30) == ""
        assert await leases.release_all("r1") == 2  # tg:2 and tg:3


class TestLeaseMigration:
    async def test_updates_recorded_before_1002_are_kept_without_a_key(
        self, schema: PostgresSchema
    ) -> None:
        """An inbox written by the release before leases (1001) upgrades in place: its rows
        stay, keyless until a replica fills their key in (tests/telegram/test_replicas_e2e)."""
        old = PostgresDatabase(schema.url)
        await old.open(target=1001)
        await old.write(
            "INSERT INTO update_inbox (update_id, payload, received_at) VALUES (7, '{}', 1)"
        )
        await old.close()
        database = PostgresDatabase(schema.url)
        await database.open()
        inbox = postgres.stores(database).inbox
        assert inbox is not None
        keyless = await inbox.keyless(10)
        await inbox.set_key(7, "tg:5")
        rows = await inbox.of_chats(["tg:5"], besides=[], limit=10)
        await database.close()
        assert keyless == [(7, "{}")]
        assert [(r[0], r[1]) for r in rows] == [(7, "tg:5")]


async def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)
