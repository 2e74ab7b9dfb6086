"""The conversation in Telegram: a user's text in, the model's answer out."""

from __future__ import annotations

from telegram import Message

from bot.engine.conversation.editing import Edit
from bot.engine.text import clean_text
from bot.observability.logs import get_logger
from bot.storage.records import NewTurn, Turn
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming
from bot.telegram.handlers.quoting import quote_of
from bot.telegram.handlers.triggers import (
    is_addressed,
    is_private,
    sender_id,
    speaker_name,
    strip_mention,
)
from bot.telegram.reply.answer import answer_turn
from bot.telegram.reply.outcome import expire, settled

log = get_logger(__name__)

ONLY_TEXT = "I can only read text messages for now. Please send your question as text."
EMPTY_MENTION = "Yes? Write your question after mentioning me, or reply to one of my messages."
EMPTY_TEXT = "That message has no text I can answer. Please write your question."


async def on_text(incoming: Incoming, context: BotContext) -> None:
    """A text message: answered in private chats, and in groups when the bot is addressed."""
    message = incoming.message
    if message.text is None:
        return
    me = context.bot.bot
    if not is_addressed(message, me):
        return
    text = clean_text(message.text)
    text = text.strip() if is_private(message) else strip_mention(text, me)
    if not text:
        reply = EMPTY_TEXT if is_private(message) else EMPTY_MENTION
        await message.reply_text(reply, do_quote=not is_private(message))
        return
    turn = await context.services.conversation.submit(new_turn(incoming, context, text))
    if turn is not None:
        await answer_new(incoming, context, turn, files=False)


def new_turn(incoming: Incoming, context: BotContext, text: str) -> NewTurn:
    """The message as the engine stores it, with `text` as its question."""
    message, me = incoming.message, context.bot.bot
    sender = sender_id(message)  # whose budgets the answer is charged to
    return NewTurn(
        chat_id=incoming.chat_key,
        user_text=text,
        source_key=incoming.source_key,
        reply_to=str(message.message_id),
        user_id=None if sender is None else str(sender),
        speaker=None if is_private(message) else speaker_name(message.from_user),
        sent_at=message.date.timestamp(),
        quote=quote_of(message, me),
    )


async def answer_new(
    incoming: Incoming, context: BotContext, turn: Turn, *, files: bool = True
) -> None:
    """Answer a message's stored turn, unless it waited too long (the bot was down).
    `files=False`: the turn was just stored from a text message, so it has none to read."""
    svc = context.services
    if svc.conversation.too_old(turn):
        # Telegram kept it while the bot was down for long: too late to answer now.
        await expire(context.bot, svc, turn)
        return
    async with settled(svc, turn):
        await answer_turn(context.bot, svc, turn, forum=bool(incoming.chat.is_forum), files=files)


async def on_edit(incoming: Incoming, context: BotContext) -> None:
    """An edited question: if it is the chat's last one, edited by its asker within
    EDIT_REGENERATE_MINUTES, it is answered anew and the new answer replaces the old one
    (edited in place when its messages are known). Any other edit is ignored."""
    message = incoming.message
    me = context.bot.bot
    if message.text is None or not is_addressed(message, me):
        return
    text = clean_text(message.text)
    text = text.strip() if is_private(message) else strip_mention(text, me)
    if not text:
        return
    svc = context.services
    sender = sender_id(message)
    turn = await svc.conversation.edits.ask_again(
        Edit(
            chat_id=incoming.chat_key,
            reply_to=str(message.message_id),
            user_id=None if sender is None else str(sender),
            text=text,
            speaker=None if is_private(message) else speaker_name(message.from_user),
            source_key=incoming.source_key,
        )
    )
    if turn is None:
        return
    async with settled(svc, turn):
        await answer_turn(context.bot, svc, turn, in_place=True)


async def on_non_text(incoming: Incoming, context: BotContext) -> None:
    """A photo, sticker, voice note or file: a short note that only text is supported."""
    message = incoming.message
    if not is_addressed(message, context.bot.bot):
        return
    log.info("non_text_message", kind=_kind(message))
    await message.reply_text(ONLY_TEXT, do_quote=not is_private(message))


def _kind(message: Message) -> str:
    for kind in (
        "photo",
        "sticker",
        "voice",
        "audio",
        "video",
        "video_note",
        "document",
        "animation",
        "location",
        "contact",
        "poll",
        "dice",
    ):
        if getattr(message, kind, None):
            return kind
    return "other"
