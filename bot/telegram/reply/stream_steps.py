"""Which Bot API call brings a chat closest to showing a streamed answer's current text.

Pure logic, no I/O: :mod:`bot.telegram.reply.streaming` asks :func:`next_step` after every chunk
(when the chat may take an update) and makes the one call it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from bot.telegram.format.render import RenderedPart

PartKey = tuple[str, tuple[tuple[object, ...], ...]]


class Mode(Enum):
    DRAFT = "draft"
    EDIT = "edit"


@dataclass(frozen=True, slots=True)
class Step:
    """One Bot API call that brings the chat closer to showing the current text."""

    kind: Literal["draft", "send", "edit"]
    index: int  # which part of the answer
    part: RenderedPart


def part_key(part: RenderedPart) -> PartKey:
    """What Telegram shows for a part, comparable (entities compare by every field)."""
    entities = tuple((e.type, e.offset, e.length, e.url, e.language) for e in part.entities)
    return part.text, entities


def next_step(
    mode: Mode, parts: list[RenderedPart], shown: list[PartKey], draft: PartKey | None
) -> Step | None:
    """The one call to make next, or None when the chat already shows ``parts``.

    ``shown`` is what each message of this reply shows, in order; ``draft`` what the draft
    shows. With drafts, every complete part (all but the last) becomes a message and the
    last part is the draft; with edits, the last message is edited while its part grows,
    and is brought up to date before the next part gets a message.
    """
    count = len(shown)
    if mode is Mode.DRAFT:
        if len(parts) > count + 1:
            return Step("send", count, parts[count])
        if len(parts) == count + 1 and part_key(parts[count]) != draft:
            return Step("draft", count, parts[count])
        return None
    if count and len(parts) >= count and part_key(parts[count - 1]) != shown[count - 1]:
        return Step("edit", count - 1, parts[count - 1])
    if len(parts) > count:
        return Step("send", count, parts[count])
    return None
