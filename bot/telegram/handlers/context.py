"""The typed context every handler receives (python-telegram-bot's ``ContextTypes``).

Handlers read the services as typed properties (``context.conversation``) rather than fishing
them out of a dict; the application is built with `CONTEXT_TYPES` and the services are
installed once, before the first update.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.engine.conversation.controls import ChatControls
from bot.engine.conversation.turns import Conversation
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.telegram.handlers.chat_admins import ChatAdmins
from bot.telegram.reply.services import Services


class BotData:
    """The application's ``bot_data``: the services, set once by `install`, and the groups'
    administrators as last asked of Telegram."""

    __slots__ = ("chat_admins", "services")

    def __init__(self) -> None:
        self.services: Services | None = None
        self.chat_admins = ChatAdmins()


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context of every handler: python-telegram-bot's, plus the bot's services."""

    @property
    def services(self) -> Services:
        """Everything at once, for code that passes the services on (answering a turn)."""
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("the services are installed before the application starts")
        return services

    @property
    def conversation(self) -> Conversation:
        return self.services.conversation

    @property
    def controls(self) -> ChatControls:
        """A chat's settings and history: its model, /clear, /stats, /export."""
        return self.services.conversation.controls

    @property
    def gatekeeper(self) -> Gatekeeper:
        return self.services.gatekeeper

    @property
    def chat_admins(self) -> ChatAdmins:
        return self.bot_data.chat_admins


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)

BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]


def install(application: BotApplication, services: Services) -> None:
    """Make the services available to every handler's context."""
    application.bot_data.services = services
