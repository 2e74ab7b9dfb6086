"""What to do with a turn that a crash, a shutdown or a failed delivery left unfinished.

Pure decisions, so that they can be tested on their own; the channel carries them out, in each
chat's order, under the chat's lock (see bot/telegram/reply/recovery.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from bot.storage.records import Turn, TurnState


class Action(StrEnum):
    """How an unfinished turn is finished."""

    ANSWER = "answer"  # pending and still fresh: ask the model now
    DELIVER = "deliver"  # the answer is stored: send it, without asking the model again
    RECORD = "record"  # the answer was sent, only its record failed: record it, send nothing
    EXPIRE = "expire"  # pending for too long: say sorry instead of answering late
    NONE = "none"  # already settled (answered or failed): nothing to do


def action_for(turn: Turn, *, now: float, max_age: float, delivered: bool = False) -> Action:
    """An answer already written is always delivered, however late (it costs nothing more and
    it is what the user asked for); a message that still needs the model is answered only
    while it is younger than `max_age` seconds. `delivered`: the answer is known to have been
    sent (only the database refused to record it)."""
    if turn.state is TurnState.GENERATED and turn.answer is not None:
        return Action.RECORD if delivered else Action.DELIVER
    if turn.state is TurnState.PENDING or turn.state is TurnState.GENERATED:
        return Action.EXPIRE if now - turn.created_at > max_age else Action.ANSWER
    return Action.NONE


def by_chat(turns: Iterable[Turn]) -> dict[str, list[Turn]]:
    """Turns grouped by chat, each chat's turns oldest first (by id: the order they arrived)."""
    grouped: dict[str, list[Turn]] = {}
    for turn in sorted(turns, key=lambda t: t.id):
        grouped.setdefault(turn.chat_id, []).append(turn)
    return grouped
