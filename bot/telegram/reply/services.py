"""What the channel works with: the engine's conversation and gatekeeper, the settings, and the
state shared by streamed replies. Built once by the app, handed to handlers and replies."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import TelegramSettings
from bot.engine.conversation.turns import Conversation
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.telegram.reply.streaming import StreamState


@dataclass(frozen=True)
class Services:
    conversation: Conversation
    telegram: TelegramSettings  # streaming answers
    gatekeeper: Gatekeeper
    streams: StreamState = field(default_factory=StreamState)  # shared by streamed replies
