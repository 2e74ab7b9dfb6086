"""Edit to ask again: an edited question is answered anew, replacing its old answer.

Only the chat's last question is asked again, only when edited by the one who asked it, within
EDIT_REGENERATE_MINUTES of sending it (0: never), and only if its text changed. The new turn
`replaces` the old one, as /retry does: the old question and answer stay in the history until
the new answer is delivered, then both go, so the history has the edited question once.
Every other edit (an older message, too late, someone else's) is ignored, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import ConversationSettings
from bot.observability.logs import get_logger
from bot.storage.records import NewTurn, Turn
from bot.storage.repositories import TurnRepository

log = get_logger(__name__)


@dataclass(frozen=True)
class Edit:
    """An edited message, as the channel saw it."""

    chat_id: str
    reply_to: str  # the channel's id of the edited message
    user_id: str | None
    text: str
    speaker: str | None = None
    source_key: str | None = None


class EditedQuestions:
    """Decides whether an edit asks again, and stores the new turn when it does."""

    def __init__(
        self, turns: TurnRepository, *, window_s: float, clock: Callable[[], float]
    ) -> None:
        self._turns, self._window_s, self._clock = turns, window_s, clock

    @classmethod
    def from_settings(
        cls, turns: TurnRepository, settings: ConversationSettings, clock: Callable[[], float]
    ) -> EditedQuestions:
        """With EDIT_REGENERATE_MINUTES as the window."""
        return cls(turns, window_s=settings.edit_regenerate_minutes * 60, clock=clock)

    async def ask_again(self, edit: Edit) -> Turn | None:
        """The stored turn that answers the edited question anew, or None (the edit ignored,
        and why logged as `edit_ignored`)."""
        last = await self._turns.last_finished(edit.chat_id)
        reason = self._refusal(last, edit)
        if reason is not None or last is None:
            log.info("edit_ignored", chat_key=edit.chat_id, reason=reason)
            return None
        new = NewTurn(
            chat_id=edit.chat_id,
            user_text=edit.text,
            source_key=edit.source_key,
            reply_to=edit.reply_to,
            user_id=edit.user_id,
            speaker=edit.speaker,
            replaces=last.id,
            sent_at=last.created_at,  # the window runs from the question's first sending
        )
        turn = await self._turns.add(new, now=self._clock())
        if turn is not None:
            log.info("edit_asks_again", chat_key=edit.chat_id, turn_id=turn.id, replaces=last.id)
        return turn

    def _refusal(self, last: Turn | None, edit: Edit) -> str | None:
        if last is None or last.reply_to != edit.reply_to:
            return "not_the_last_question"
        if last.user_id != edit.user_id:
            return "not_the_asker"
        if self._clock() - last.created_at > self._window_s:
            return "too_late"
        if last.user_text == edit.text:
            return "unchanged"
        return None
