"""Storage specs run on a real SQLite file in a temporary folder (created by `open`) and, for
every test that uses `storage` alone, on a PostgreSQL schema of its own as well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import postgres, sqlite
from bot.storage.postgres import PostgresDatabase
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database
from tests.support import services

BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each repository test runs once per backend; a test that also reaches into the SQLite
    file (`database`) runs on SQLite only."""
    if "backend" in metafunc.fixturenames:
        on_sqlite_only = "database" in metafunc.fixturenames
        metafunc.parametrize("backend", BACKENDS[:1] if on_sqlite_only else BACKENDS)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    opened = Database(tmp_path / "sub" / "bot.db")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def postgres_database() -> AsyncIterator[PostgresDatabase]:
    """A PostgreSQL database at the newest version, in a schema of its own (dropped after)."""
    async with services.postgres_database() as opened:
        yield opened


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest) -> Stores:
    """Every repository on a fresh database of the test's backend."""
    if backend == "sqlite":
        return sqlite.stores(request.getfixturevalue("database"))
    return postgres.stores(request.getfixturevalue("postgres_database"))
