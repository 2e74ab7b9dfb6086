"""The per-user moving-window rate limit (the `limits` library, in memory)."""

from __future__ import annotations

from bot.engine.policy.ratelimit import MessageRateLimit


class TestMessageRateLimit:
    async def test_n_messages_then_a_wait(self) -> None:
        """N messages pass; the next is refused with a wait of at most the window."""
        limit = MessageRateLimit(3, 60)
        assert [await limit.hit("u1") for _ in range(3)] == [None, None, None]
        wait = await limit.hit("u1")
        assert wait is not None and 0 < wait <= 60

    async def test_users_are_counted_apart(self) -> None:
        """One user's messages do not count against another's."""
        limit = MessageRateLimit(1, 60)
        assert await limit.hit("u1") is None
        assert await limit.hit("u2") is None
        assert await limit.hit("u1") is not None

    async def test_zero_turns_it_off(self) -> None:
        """RATE_LIMIT_MESSAGES=0 lets everything through."""
        limit = MessageRateLimit(0, 60)
        assert not limit.enabled
        assert [await limit.hit("u1") for _ in range(100)] == [None] * 100
