"""Storage specs run on a real SQLite file in a temporary folder (created by `open`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import sqlite
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    opened = Database(tmp_path / "sub" / "bot.db")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def storage(database: Database) -> Stores:
    return sqlite.stores(database)
