"""The summarizer's memory of failed chats is bounded: it cannot grow with the number of chats."""

from __future__ import annotations

from typing import Any, cast

from bot.engine.conversation.folding import SummaryPolicy
from bot.engine.conversation.summary import FAILURES_KEPT, RETRY_AFTER_FAILURE_S, Summarizer
from tests.support.running import LogCapture

NOTHING = cast(Any, None)


def summarizer() -> Summarizer:
    """A summarizer whose collaborators are never reached by what is tested here."""
    policy = cast(SummaryPolicy, type("Policy", (), {"enabled": True})())
    return Summarizer(
        NOTHING,
        turns=NOTHING,
        summaries=NOTHING,
        usage=NOTHING,
        policy=policy,
        prices={},
        profiles=NOTHING,
        tokens=NOTHING,
        limits=NOTHING,
        clock=NOTHING,
    )


class TestFailedChats:
    def test_at_most_failures_kept_and_forgotten_after_the_wait(self, logs: LogCapture) -> None:
        """More failed chats than FAILURES_KEPT: the oldest are forgotten (they may try again
        early), and an entry lives only as long as the wait it enforces."""
        summaries = summarizer()
        for n in range(FAILURES_KEPT + 50):
            summaries._failed(f"chat:{n}", "timeout", 0.0)
        failed = summaries._failed_at
        assert len(failed) == FAILURES_KEPT
        assert "chat:0" not in failed and f"chat:{FAILURES_KEPT + 49}" in failed
        assert getattr(failed, "ttl", None) == RETRY_AFTER_FAILURE_S

    def test_a_failed_chat_waits_before_the_next_try(self, logs: LogCapture) -> None:
        """Within the wait, schedule() starts nothing for a chat whose summary failed."""
        summaries = summarizer()
        summaries._failed("chat:1", "timeout", 0.0)
        assert summaries.schedule("chat:1") is False
