"""A reasoning model's thinking, shown above its answer while it streams: one collapsed quote
(Telegram's ``expandable_blockquote``) headed "💭 Thinking…", a message of its own.

The thinking is never part of the answer's text: the answer is split into messages on its own
(the block is one more part in front), stored without it and never sent back to the model.
Only its latest part is shown when it grows beyond one message.
"""

from __future__ import annotations

from telegram import MessageEntity
from telegram.constants import MessageEntityType

from bot.engine.models.reasoning import Reasoning
from bot.telegram.format.render import RenderedPart, utf16_len

HEADER = "💭 Thinking…"
MAX_SHOWN_CHARS = 3500  # of thinking: the block stays well within one message (4096 units)


class Thinking:
    """The thinking streamed so far for one answer."""

    def __init__(self) -> None:
        self._text = ""

    def take(self, piece: str) -> bool:
        """Keep `piece` if it is thinking (True); an answer's piece is left to the caller."""
        if not isinstance(piece, Reasoning):
            return False
        self._text += piece
        return True

    def part(self) -> RenderedPart | None:
        """The collapsed block, or None when there was no thinking (or only blanks)."""
        body = self._text.strip()
        if not body:
            return None
        if len(body) > MAX_SHOWN_CHARS:
            body = "…" + body[-MAX_SHOWN_CHARS:]
        text = f"{HEADER}\n{body}"
        quote = MessageEntity(MessageEntityType.EXPANDABLE_BLOCKQUOTE, 0, utf16_len(text))
        header = MessageEntity(MessageEntityType.BOLD, 0, utf16_len(HEADER))
        return RenderedPart(text, (quote, header))

    def before(self, parts: list[RenderedPart]) -> list[RenderedPart]:
        """The answer's parts with the block in front, when there is one."""
        block = self.part()
        return [block, *parts] if block else parts
