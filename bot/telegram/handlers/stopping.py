"""Stopping an answer while it is written: /stop, the Stop button, and a private draft's stop.

Each stops the chat's answer in flight (the engine cancels the model request and keeps the part
already written, marked as stopped). In a group only the member who asked, the group's admins
and the bot's admins may stop an answer. These updates must not wait in the chat's queue
behind the very answer they stop: `is_stop` tells the update processor to handle them at once
(app/processor.py); the guard still runs in front of them.
"""

from __future__ import annotations

from telegram import Chat, MessageEntity, Update

from bot.engine.conversation import identity
from bot.observability.logs import get_logger
from bot.storage.records import Turn
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming, Press
from bot.telegram.reply.stop_button import STOP_BUTTON_PREFIX

log = get_logger(__name__)

NOTHING_TO_STOP = "Nothing to stop: I'm not writing an answer here right now."
NOT_YOURS = "Only the one who asked, or an admin, can stop this answer."
FINISHED = "This answer is already finished."
GENERATION_STOPPED = "stopped_message_generation"  # the Bot API 10.3 update (not in the library)


def is_stop(update: Update) -> bool:
    """Whether the update stops an answer (so it must not queue behind that answer)."""
    query = update.callback_query
    if query is not None:
        return (query.data or "").startswith(STOP_BUTTON_PREFIX)
    if GENERATION_STOPPED in update.api_kwargs:
        return True
    message = update.message
    if message is None or not message.text or not message.entities:
        return False
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return False
    name = message.text[1 : first.length].partition("@")[0]
    return name.lower() == "stop"


async def may_stop(context: BotContext, chat: Chat, user_id: int | None, turn: Turn) -> bool:
    """The asker, anyone in a private chat, the bot's admins, the group's admins."""
    if chat.type == Chat.PRIVATE or (user_id is not None and turn.user_id == str(user_id)):
        return True
    if user_id is None:
        return False
    if context.gatekeeper.is_admin(user_id):
        return True
    return await context.chat_admins.is_admin(context.bot, chat.id, user_id)


async def stop(incoming: Incoming, context: BotContext) -> None:
    """/stop: the answer being written here stops (it shows "⏹ Stopped."); else a short note."""
    conversation, message = context.conversation, incoming.message
    turn = conversation.in_flight.turn(incoming.chat_key)
    if turn is None:
        await message.reply_text(NOTHING_TO_STOP)
        return
    user = message.from_user
    if not await may_stop(context, incoming.chat, user.id if user else None, turn):
        await message.reply_text(NOT_YOURS, do_quote=True)
        return
    if conversation.stop(incoming.chat_key, turn.id) is None:
        await message.reply_text(NOTHING_TO_STOP)
        return
    log.info("stop_requested", via="command", turn_id=turn.id)


async def stop_button(press: Press, context: BotContext) -> None:
    """A tap on Stop under an answer being written stops it (if the tapper may)."""
    conversation, query = context.conversation, press.query
    turn = conversation.in_flight.turn(press.chat_key)
    if turn is None or str(turn.id) != press.choice:
        await query.answer(FINISHED)
        return
    if not await may_stop(context, press.chat, query.from_user.id, turn):
        await query.answer(NOT_YOURS)
        return
    stopped = conversation.stop(press.chat_key, turn.id)
    await query.answer("Stopped." if stopped else FINISHED)
    if stopped is not None:
        log.info("stop_requested", via="button", turn_id=turn.id)


async def on_generation_stopped(update: Update, context: BotContext) -> None:
    """The user pressed Telegram's own stop on a private draft: stop that chat's answer."""
    event = update.api_kwargs.get(GENERATION_STOPPED)
    if not isinstance(event, dict):
        return
    chat = event.get("chat")
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat_id, int) or chat_id <= 0:
        return  # drafts (and so their stop) are for private chats only
    topic = event.get("message_thread_id")  # a private chat's topic, if it has topics
    base = identity.telegram_chat(chat_id, topic if isinstance(topic, int) and topic > 0 else None)
    key = await context.conversation.conversations.current(base)
    stopped = context.conversation.stop(key)
    if stopped is not None:
        log.info("stop_requested", via="draft", turn_id=stopped.id, chat_id=chat_id)
