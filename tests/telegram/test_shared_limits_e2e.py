"""End to end with REDIS_URL: a user limited on another replica is limited here too, once;
/healthz reports Redis trouble as "degraded" (the bot still works)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import LimitSettings
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.engine.policy.shared import SharedState
from bot.storage import sqlite
from bot.storage.sqlite import Database
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.service import get, unused_port
from tests.support.services import REDIS_URL, redis_prefix
from tests.support.waiting import quiet_for


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as made:
        yield made


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Two messages a minute, counted in the test's own corner of Redis."""
    extra = {
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_MESSAGES": "2",
        "RATE_LIMIT_WINDOW_SECONDS": "60",
    }
    for name, value in extra.items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env


@pytest.fixture
async def other_replica(prefix: str, tmp_path: Path) -> AsyncIterator[Gatekeeper]:
    """Another replica's gatekeeper on the same Redis (with a database of its own: only the
    rate limit is shared through Redis, and it has no budgets to read)."""
    shared = SharedState(REDIS_URL, prefix=prefix)
    database = Database(tmp_path / "other.db")
    await database.open()
    limits = LimitSettings(rate_limit_messages=2, rate_limit_window_seconds=60)
    usage = sqlite.stores(database).usage
    yield Gatekeeper(usage, limits, models=[], prices={}, clock=time.time, shared=shared)
    await shared.close()
    await database.close()


class TestSharedLimits:
    async def test_limited_on_another_replica_is_limited_here_once(
        self, bot: RunningBot, other_replica: Gatekeeper, logs: LogCapture
    ) -> None:
        """Two messages counted on replica A: the next one, reaching this replica, is refused
        with one notice; a further one gets silence; the model is never asked."""
        for _ in range(2):
            assert await other_replica.check_message(PRIVATE, PRIVATE) is None
        bot.telegram.send_private_text(PRIVATE, "third")
        text = await answer_in(bot, PRIVATE)
        assert text.startswith("You're sending messages too fast. Please wait ")
        bot.telegram.send_private_text(PRIVATE, "fourth")
        events = await logs.wait_for("update_refused", 2, timeout=20)
        await quiet_for(bot)
        assert [e["told"] for e in events] == [True, False]
        assert len(bot.telegram.messages(PRIVATE)) == 1
        assert bot.model.requests == []


class TestHealthWithRedis:
    async def test_redis_trouble_is_degraded_not_down(
        self, bot: RunningBot, monkeypatch: pytest.MonkeyPatch, logs: LogCapture
    ) -> None:
        """Redis answering: 200 ok. Redis failing: still 200 (limits fall back to memory), with
        status "degraded" and the reason, and `shared_state_unavailable` logged."""
        port = unused_port()
        await bot.restart(HEALTH_PORT=str(port))
        url = f"http://127.0.0.1:{port}/healthz"
        assert json.loads((await get(url))[1]) == {"status": "ok"}

        async def broken(_self: SharedState) -> None:
            raise ConnectionError("refused")

        monkeypatch.setattr(SharedState, "ping", broken)
        status, body = await get(url)
        assert status == 200
        assert json.loads(body) == {
            "status": "degraded",
            "reason": "Redis is unavailable (ConnectionError): limits are per process until "
            "it answers",
        }
        assert logs.named("shared_state_unavailable")
