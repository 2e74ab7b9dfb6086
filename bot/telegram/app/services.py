"""What the handlers need, injected through the application's bot_data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.config import TelegramSettings
from bot.engine.conversation.turns import Conversation
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.telegram.reply.streaming import StreamState

_KEY = "services"


@dataclass(frozen=True)
class Services:
    conversation: Conversation
    telegram: TelegramSettings  # streaming answers
    gatekeeper: Gatekeeper
    streams: StreamState = field(default_factory=StreamState)  # shared by streamed replies


def install(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    application.bot_data[_KEY] = services


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    found = context.bot_data[_KEY]
    assert isinstance(found, Services)
    return found
