"""What happens to a turn left unfinished: deliver, answer, or apologise (pure decisions)."""

from __future__ import annotations

import pytest

from bot.engine.conversation.recovery import Action, action_for, by_chat
from bot.storage.records import Turn, TurnState

MAX_AGE = 3600.0


def turn(
    state: TurnState, *, age: float = 0.0, answer: str | None = None, id_: int = 1, chat: str = "c"
) -> Turn:
    return Turn(id_, chat, "question", state, created_at=10_000.0 - age, answer=answer)


def action(t: Turn) -> Action:
    return action_for(t, now=10_000.0, max_age=MAX_AGE)


class TestActionFor:
    def test_fresh_pending_is_answered(self) -> None:
        """A pending turn younger than the limit is answered."""
        assert action(turn(TurnState.PENDING, age=60)) is Action.ANSWER

    def test_old_pending_is_expired(self) -> None:
        """A pending turn older than the limit gets the apology instead."""
        assert action(turn(TurnState.PENDING, age=MAX_AGE + 1)) is Action.EXPIRE

    @pytest.mark.parametrize("age", [0, MAX_AGE * 100])
    def test_stored_answer_is_delivered_however_old(self, age: float) -> None:
        """An answer already written is delivered, without asking the model, at any age."""
        assert action(turn(TurnState.GENERATED, age=age, answer="a")) is Action.DELIVER

    def test_delivered_but_unrecorded_is_only_recorded(self) -> None:
        """An answer known to be sent (only its record failed) is recorded, not sent again."""
        t = turn(TurnState.GENERATED, answer="a")
        assert action_for(t, now=10_000.0, max_age=MAX_AGE, delivered=True) is Action.RECORD

    @pytest.mark.parametrize("state", [TurnState.ANSWERED, TurnState.FAILED])
    def test_settled_turns_are_left_alone(self, state: TurnState) -> None:
        """Answered and failed turns need nothing."""
        assert action(turn(state, answer="a")) is Action.NONE


class TestByChat:
    def test_groups_by_chat_in_arrival_order(self) -> None:
        """Each chat's turns come out oldest first, whatever order they were read in."""
        turns = [
            turn(TurnState.PENDING, id_=3, chat="a"),
            turn(TurnState.PENDING, id_=1, chat="a"),
            turn(TurnState.PENDING, id_=2, chat="b"),
        ]
        grouped = by_chat(turns)
        assert {chat: [t.id for t in ts] for chat, ts in grouped.items()} == {
            "a": [1, 3],
            "b": [2],
        }
