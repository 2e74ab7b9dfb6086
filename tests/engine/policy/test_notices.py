"""Refusals are said once per while, and the memory of who was told stays bounded."""

from __future__ import annotations

from bot.engine.policy.notices import Notices


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestNotices:
    def test_once_then_silence_until_expiry(self) -> None:
        """The first time is True, repeats are False until the time to live has passed."""
        clock = Clock()
        notices = Notices(clock=clock)
        assert notices.first("alice", ttl=60) is True
        assert notices.first("alice", ttl=60) is False
        clock.now += 59
        assert notices.first("alice", ttl=60) is False
        clock.now += 2
        assert notices.first("alice", ttl=60) is True

    def test_keys_are_independent(self) -> None:
        """Telling one person does not silence another."""
        notices = Notices(clock=Clock())
        assert notices.first(("rate", 1), ttl=60)
        assert notices.first(("rate", 2), ttl=60)

    def test_memory_is_bounded(self) -> None:
        """However many people write, at most `maxsize` entries are kept."""
        notices = Notices(maxsize=100, clock=Clock())
        for user in range(10_000):
            notices.first(user, ttl=3600)
        assert len(notices) == 100
