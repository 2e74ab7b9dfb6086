"""What a handler receives: a message with its chat, or a button press, never an empty update.

python-telegram-bot hands every callback an `Update` whose message and chat are optional. The
wrappers here check that once, so a handler is written for the update it expects; an update
without them is ignored, as every handler used to do at its top.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Chat, Message, Update

from bot.engine.conversation import identity
from bot.telegram.handlers.context import BotContext


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message (a command or a chat message) in a chat."""

    update_id: int
    message: Message
    chat: Chat
    # The conversation this message belongs to: the current one (/new, /chats) of its chat,
    # or of its topic of a forum or of a private chat with topics (General is the chat).
    chat_key: str

    @property
    def base_key(self) -> str:
        """Its chat or topic, whatever conversation is current (what /new and /chats change)."""
        return conversation_key(self.chat, self.message)

    @property
    def source_key(self) -> str:
        """What makes the message's turn unique, so a re-delivered update is not answered twice."""
        return identity.telegram_update(self.update_id)


@dataclass(frozen=True, slots=True)
class Press:
    """A tap on one of the bot's buttons in a chat; `choice` is its data after the prefix."""

    query: CallbackQuery
    chat: Chat
    choice: str
    # The current conversation of the chat or topic the button's message is in.
    chat_key: str

    @property
    def base_key(self) -> str:
        """The chat or topic the button's message is in."""
        message = self.query.message
        return conversation_key(self.chat, message if isinstance(message, Message) else None)


def topic_of(message: Message | None) -> int | None:
    """The forum or private-chat topic a message is in; None for a chat without topics and
    for the General topic.

    Only a topic message counts: in a plain group a reply carries a ``message_thread_id`` too
    (its reply chain's first message), which is not a topic and cannot be sent to.
    """
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def conversation_key(chat: Chat, message: Message | None) -> str:
    """The key of the chat or topic a message in `chat` belongs to (see engine identity): its
    conversation 1, the base of its other conversations."""
    return identity.telegram_chat(chat.id, topic_of(message))


Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
MessageCallback = Callable[[Incoming, BotContext], Awaitable[None]]
ButtonCallback = Callable[[Press, BotContext], Awaitable[None]]


def on_message(handler: MessageCallback) -> Callback:
    """The handler as python-telegram-bot calls it: only for an update with a message and chat."""

    @functools.wraps(handler)
    async def callback(update: Update, context: BotContext) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        key = await context.conversation.conversations.current(conversation_key(chat, message))
        await handler(Incoming(update.update_id, message, chat, key), context)

    return callback


def on_button(prefix: str, handler: ButtonCallback) -> Callback:
    """The handler as python-telegram-bot calls it: only for a press with data, in a chat."""

    @functools.wraps(handler)
    async def callback(update: Update, context: BotContext) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None or not query.data:
            return
        message = query.message
        base = conversation_key(chat, message if isinstance(message, Message) else None)
        key = await context.conversation.conversations.current(base)
        await handler(Press(query, chat, query.data.removeprefix(prefix), key), context)

    return callback
