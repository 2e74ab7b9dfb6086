"""The rolling summary's pure parts: what to fold, and the summary request."""

from __future__ import annotations

from bot.engine.conversation.context import estimate_tokens
from bot.engine.conversation.folding import (
    MAX_BATCH_TURNS,
    MAX_TURN_CHARS,
    plan_fold,
    summary_request,
    unsummarised,
)
from bot.storage.records import Summary, Turn, TurnState


def turn(n: int, text: str = "q", answer: str = "a", speaker: str | None = None) -> Turn:
    return Turn(
        n, "c", f"{text}{n}", TurnState.ANSWERED, 0.0, speaker=speaker, answer=f"{answer}{n}"
    )


TURNS = [turn(n) for n in range(1, 11)]


class TestPlanFold:
    def test_nothing_while_everything_fits(self) -> None:
        """When all unsummarised turns fit the request, nothing is folded."""
        assert plan_fold(TURNS[:3], kept=3, min_turns=2) == []

    def test_folds_at_least_min_turns(self) -> None:
        """One turn fell out: the oldest min_turns are folded, so calls stay rare."""
        assert plan_fold(TURNS[:5], kept=4, min_turns=3) == TURNS[:3]

    def test_folds_everything_that_fell_out(self) -> None:
        """More turns fell out than min_turns: all of them are folded."""
        assert plan_fold(TURNS, kept=2, min_turns=3) == TURNS[:8]

    def test_keeps_the_newest_turn_while_it_fits(self) -> None:
        """min_turns never folds the newest turn when it still fits."""
        assert plan_fold(TURNS[:3], kept=2, min_turns=10) == TURNS[:2]

    def test_folds_a_newest_turn_that_does_not_fit(self) -> None:
        """A newest turn too big for any request is folded too."""
        assert plan_fold(TURNS[:2], kept=0, min_turns=1) == TURNS[:2]

    def test_one_fold_is_bounded(self) -> None:
        """A long backlog is folded a batch at a time."""
        backlog = [turn(n) for n in range(1, 200)]
        assert len(plan_fold(backlog, kept=5, min_turns=2)) == MAX_BATCH_TURNS


class TestUnsummarised:
    def test_turns_after_the_summary(self) -> None:
        """Only turns newer than the summary's last turn are sent verbatim."""
        assert unsummarised(Summary("s", 7), TURNS) == TURNS[7:]
        assert unsummarised(None, TURNS) == TURNS


class TestSummaryRequest:
    def test_carries_previous_summary_and_transcript(self) -> None:
        """The request holds the old summary and each turn as User/Assistant lines."""
        group = [turn(1, speaker="Alice"), turn(2)]
        messages, folded = summary_request(
            Summary("old facts", 0), group, 400, 5000, estimate_tokens
        )
        assert folded == group
        body = messages[1]["content"]
        assert "Previous summary:\nold facts" in body
        assert "User: Alice: q1\nAssistant: a1" in body and "User: q2\nAssistant: a2" in body
        assert messages[0]["role"] == "system" and "240 words" in messages[0]["content"]

    def test_budget_bounds_the_batch_but_never_to_nothing(self) -> None:
        """Turns beyond the budget wait for a later fold; the first one always goes, clipped."""
        huge = [turn(n, text="x" * 10_000) for n in range(1, 4)]
        messages, folded = summary_request(None, huge, 400, 300, estimate_tokens)
        assert folded == huge[:1]
        assert len(messages[1]["content"]) < 2 * MAX_TURN_CHARS + 500
