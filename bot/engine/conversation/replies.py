"""What generating a turn hands the channel: the stored answer, waiting to be delivered."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.models.completion import Completion
from bot.storage.records import Turn, Usage


@dataclass(frozen=True)
class Reply:
    """A generated answer, stored, waiting to be delivered by the channel."""

    turn: Turn
    text: str
    usage: Usage
    completion: Completion
