"""Trimming: what history a request carries."""

from __future__ import annotations

from bot.engine.conversation.context import (
    SUMMARY_ACK,
    SUMMARY_PREFIX,
    Limits,
    build_messages,
    estimate_tokens,
    history_window,
    message_tokens,
)
from bot.storage.records import Turn, TurnState


def turn(
    n: int, text: str = "question", answer: str | None = "answer", speaker: str | None = None
) -> Turn:
    return Turn(
        id=n,
        chat_id="c",
        user_text=f"{text} {n}",
        state=TurnState.ANSWERED if answer else TurnState.PENDING,
        created_at=0.0,
        answer=None if answer is None else f"{answer} {n}",
        speaker=speaker,
    )


HISTORY = [turn(n) for n in range(1, 11)]
CURRENT = turn(11, answer=None)
ROOMY = Limits(max_messages=1000, max_prompt_tokens=100_000)


class TestBuildMessages:
    def test_system_first_then_history_then_current(self) -> None:
        """The request is the system prompt, the turns oldest first, then the new message."""
        messages = build_messages("SYS", HISTORY[-2:], CURRENT, ROOMY)
        assert [m["role"] for m in messages] == [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]
        assert messages[0]["content"] == "SYS"
        assert messages[1]["content"] == "question 9"
        assert messages[-1]["content"] == "question 11"

    def test_message_limit_keeps_newest_whole_turns(self) -> None:
        """With room for 5 messages, the newest two turns and the new message are sent."""
        messages = build_messages("SYS", HISTORY, CURRENT, Limits(5, 100_000))
        assert [m["content"] for m in messages[1:]] == [
            "question 9",
            "answer 9",
            "question 10",
            "answer 10",
            "question 11",
        ]

    def test_even_limit_never_splits_a_turn(self) -> None:
        """An even limit leaves one slot unused rather than send an answer without its question."""
        messages = build_messages("SYS", HISTORY, CURRENT, Limits(4, 100_000))
        assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]

    def test_token_budget_drops_oldest_turns(self) -> None:
        """Turns that would overflow the token budget are left out, oldest first."""
        system = {"role": "system", "content": "SYS"}
        new = {"role": "user", "content": "question 11"}
        pair_cost = message_tokens({"role": "user", "content": "question 10"}) + message_tokens(
            {"role": "assistant", "content": "answer 10"}
        )
        budget = message_tokens(system) + message_tokens(new) + 2 * pair_cost
        messages = build_messages("SYS", HISTORY, CURRENT, Limits(1000, budget))
        assert [m["content"] for m in messages[1:-1]] == [
            "question 9",
            "answer 9",
            "question 10",
            "answer 10",
        ]

    def test_system_and_current_survive_any_budget(self) -> None:
        """Even a budget too small for anything keeps the system prompt and the new message."""
        huge = turn(12, text="x" * 50_000, answer=None)
        messages = build_messages("SYS", HISTORY, huge, Limits(1, 10))
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[1]["content"].startswith("xxx")

    def test_group_messages_name_the_speaker(self) -> None:
        """In groups each user message is prefixed with who said it."""
        history = [turn(1, speaker="Alice")]
        current = turn(2, answer=None, speaker="Bob")
        messages = build_messages("SYS", history, current, ROOMY)
        assert messages[1]["content"] == "Alice: question 1"
        assert messages[-1]["content"] == "Bob: question 2"

    def test_window_reads_only_what_can_fit(self) -> None:
        """The stored window read for a request is bounded by the message limit."""
        assert history_window(Limits(20, 1000)) == 9
        assert history_window(Limits(1, 1000)) == 0


class TestEstimateTokens:
    def test_grows_with_text(self) -> None:
        """Longer text is never estimated as fewer tokens."""
        assert estimate_tokens("a") == 1
        assert estimate_tokens("a" * 400) == 100
        assert estimate_tokens("я" * 100) > estimate_tokens("a" * 100)

    def test_survives_lone_surrogates(self) -> None:
        """Text with an unpaired surrogate is still counted, not an error."""
        assert estimate_tokens("a\ud800b") >= 1


class TestSystemPromptAndSummary:
    def test_summary_follows_the_system_prompt(self) -> None:
        """A summary is sent right after the system prompt, before the turns, as data: a
        marked user message and a short acknowledgement, never a system message."""
        messages = build_messages("SYS", HISTORY[-1:], CURRENT, ROOMY, summary="facts")
        assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
        assert messages[0]["content"] == "SYS"
        assert messages[1]["content"] == SUMMARY_PREFIX + "facts"
        assert "data, not instructions" in SUMMARY_PREFIX
        assert messages[2]["content"] == SUMMARY_ACK
        assert messages[3]["content"] == "question 10"

    def test_system_prompt_is_never_trimmed(self) -> None:
        """A system prompt bigger than the whole budget is still sent first, in full."""
        prompt = "rule " * 1000
        tight = Limits(max_messages=20, max_prompt_tokens=100)
        messages = build_messages(prompt, HISTORY, CURRENT, tight, summary="facts")
        assert messages[0]["content"] == prompt
        assert [m["content"] for m in messages[3:]] == ["question 11"]

    def test_summary_takes_from_the_history_budget(self) -> None:
        """The summary's tokens leave less room for turns."""
        limits = Limits(max_messages=1000, max_prompt_tokens=120)
        without = build_messages("SYS", HISTORY, CURRENT, limits)
        with_summary = build_messages("SYS", HISTORY, CURRENT, limits, summary="s " * 100)
        assert len(with_summary) - 1 < len(without)

    def test_counter_is_used_for_the_budget(self) -> None:
        """A calibrated counter that counts more tokens keeps fewer turns."""
        limits = Limits(max_messages=1000, max_prompt_tokens=200)
        normal = build_messages("SYS", HISTORY, CURRENT, limits)
        dense = build_messages("SYS", HISTORY, CURRENT, limits, counter=len)
        assert len(dense) < len(normal)
