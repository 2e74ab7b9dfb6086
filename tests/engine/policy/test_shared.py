"""Rate limits and their notices shared by replicas through Redis (REDIS_URL)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.config import LimitSettings
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.engine.policy.shared import SharedState
from bot.storage.repositories import Stores
from tests.support.running import LogCapture
from tests.support.services import REDIS_URL, redis_prefix

LIMITS = LimitSettings(rate_limit_messages=2, rate_limit_window_seconds=60, rate_limit_commands=1)
Replica = Callable[[str, str], Gatekeeper]
NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens on the discard port


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as made:
        yield made


@pytest.fixture
async def replica(stores: Stores) -> AsyncIterator[Replica]:
    """Makes replicas' gatekeepers, their limits in the Redis of `url` under `prefix`."""
    opened: list[SharedState] = []

    def make(url: str, prefix: str) -> Gatekeeper:
        shared = SharedState(url, prefix=prefix)
        opened.append(shared)
        return Gatekeeper(
            stores.usage, LIMITS, models=[], prices={}, clock=time.time, shared=shared
        )

    yield make
    for shared in opened:
        await shared.close()


class TestSharedRateLimit:
    async def test_a_user_on_replica_a_then_b_is_limited_once(
        self, replica: Replica, prefix: str
    ) -> None:
        """Two messages on A use up the limit on B too; the refusal is told on B, and A
        stays silent when the user tries there next."""
        a, b = replica(REDIS_URL, prefix), replica(REDIS_URL, prefix)
        assert await a.check_message(7, 7) is None
        assert await a.check_message(7, 7) is None
        on_b = await b.check_message(7, 7)
        on_a = await a.check_message(7, 7)
        assert on_b is not None and on_b.reason == "rate_limited" and on_b.tell
        assert on_a is not None and on_a.reason == "rate_limited" and not on_a.tell
        assert await b.check_message(8, 8) is None  # another user has a window of their own

    async def test_commands_are_shared_too(self, replica: Replica, prefix: str) -> None:
        """The command limit counts across replicas as well."""
        a, b = replica(REDIS_URL, prefix), replica(REDIS_URL, prefix)
        assert await a.check_command(7, 7) is None
        refused = await b.check_command(7, 7)
        assert refused is not None and refused.reason == "commands_rate_limited"

    async def test_redis_down_counts_in_memory_and_says_so(
        self, replica: Replica, logs: LogCapture
    ) -> None:
        """Redis not answering refuses no one: the replica counts in its own memory (still
        limiting), and logs `shared_state_unavailable` once."""
        alone = replica(NOWHERE, "p")
        results = [await alone.check_message(7, 7) for _ in range(3)]
        assert results[:2] == [None, None]
        assert results[2] is not None and results[2].reason == "rate_limited"
        [warning] = logs.named("shared_state_unavailable")
        assert warning["level"] == "warning"
