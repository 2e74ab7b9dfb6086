"""A Conversation on a temporary SQLite file, answering through the fake OpenAI server."""

from __future__ import annotations

import pytest

from bot.engine.conversation.turns import Conversation
from bot.storage.repositories import Stores
from tests.support.clock import FakeClock
from tests.support.engine import MAX_AGE, MakeClient, conversation

START = 1_800_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def chat(
    clean_env: pytest.MonkeyPatch, stores: Stores, make_client: MakeClient, clock: FakeClock
) -> Conversation:
    """The conversation engine, with the clock the spec moves."""
    return conversation(stores, make_client(), clock, pending_max_age_seconds=MAX_AGE)
