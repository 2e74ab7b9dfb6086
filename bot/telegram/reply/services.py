"""What the channel works with: the engine's conversation and gatekeeper, the settings, and the
state shared by streamed replies. Built once by the app, handed to handlers and replies."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import TelegramSettings
from bot.engine.conversation.turns import Conversation
from bot.engine.media.service import Media
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.telegram.reply.albums import Albums
from bot.telegram.reply.streaming import StreamState


class CountedMessages:
    """Messages whose rate limit and budgets were checked (and counted) as they arrived.

    The admission at arrival (handlers/admission.py) adds a message; the guard, when the
    message is handled, takes it out and does not count it again. So each message is counted
    exactly once. An entry lives only while its message is queued: at most the queued
    messages of every chat.
    """

    def __init__(self) -> None:
        self._keys: set[tuple[int, int]] = set()

    def add(self, chat_id: int, message_id: int) -> None:
        self._keys.add((chat_id, message_id))

    def take(self, chat_id: int, message_id: int) -> bool:
        """True once if the message was counted at arrival (and forgets it)."""
        key = (chat_id, message_id)
        if key not in self._keys:
            return False
        self._keys.discard(key)
        return True

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class Services:
    conversation: Conversation
    telegram: TelegramSettings  # streaming answers, flood-wait cap
    gatekeeper: Gatekeeper
    streams: StreamState = field(default_factory=StreamState)  # shared by streamed replies
    counted: CountedMessages = field(default_factory=CountedMessages)  # see CountedMessages
    media: Media | None = None  # files with questions (None: MEDIA_ENABLED=false)
    albums: Albums = field(default_factory=Albums)  # photos sent together, still arriving
