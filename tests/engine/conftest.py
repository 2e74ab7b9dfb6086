"""Fixtures for the engine's specs: a real SQLite file, the fake OpenAI server, a real client.

Nothing of ours is mocked: the engine runs on the real `bot.storage.sqlite` repositories over a
temporary file and talks over HTTP, through the openai SDK, to tests/fakes/openai.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ENV_NAMES
from bot.engine.models.client import LLMClient, RetryPolicy
from bot.storage import sqlite
from bot.storage.repositories import Stores
from bot.storage.sqlite import Database
from tests.fakes.openai import FakeOpenAI
from tests.support.engine import FAST_RETRY, MakeClient


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting from the environment leaks into the sections a spec builds."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """The real SQLite database on a temporary file, opened (migrated) and closed after."""
    opened = Database(tmp_path / "bot.db")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def stores(database: Database) -> Stores:
    return sqlite.stores(database)


@pytest.fixture
async def make_client(model: FakeOpenAI) -> AsyncIterator[MakeClient]:
    """Builds LLMClients talking to the fake server (arguments override); closes them after."""
    made: list[LLMClient] = []

    def make(
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 5.0,
        retry: RetryPolicy = FAST_RETRY,
    ) -> LLMClient:
        client = LLMClient(
            api_key=api_key or model.api_key,
            base_url=base_url or model.base_url,
            timeout=timeout,
            retry=retry,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
