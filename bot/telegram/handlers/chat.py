"""The conversation in Telegram: a user's text in, the model's answer out."""

from __future__ import annotations

from telegram import Bot, Message, Update
from telegram.ext import ContextTypes

from bot.engine import errors
from bot.engine.text import clean_text
from bot.observability import metrics
from bot.observability.logs import get_logger
from bot.storage.base import NewTurn, Turn
from bot.telegram.app.processor import chat_key, telegram_chat_id
from bot.telegram.app.services import Services, services
from bot.telegram.handlers.triggers import is_addressed, is_private, speaker_name, strip_mention
from bot.telegram.reply.delivery import send_text
from bot.telegram.reply.outcome import expire, settled
from bot.telegram.reply.streaming import answer_stream

log = get_logger(__name__)

ONLY_TEXT = "I can only read text messages for now. Please send your question as text."
EMPTY_MENTION = "Yes? Write your question after mentioning me, or reply to one of my messages."
EMPTY_TEXT = "That message has no text I can answer. Please write your question."


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message: answered in private chats, and in groups when the bot is addressed."""
    message = update.effective_message
    if message is None or message.text is None:
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
    svc = services(context)
    user = message.from_user
    turn = await svc.conversation.submit(
        NewTurn(
            chat_id=chat_key(message.chat.id),
            user_text=text,
            source_key=f"tg:update:{update.update_id}",
            reply_to=str(message.message_id),
            user_id=str(user.id) if user else None,
            speaker=None if is_private(message) else speaker_name(user),
            sent_at=message.date.timestamp(),
        )
    )
    if turn is None:
        return
    if svc.conversation.too_old(turn):
        # Telegram kept it while the bot was down for long: too late to answer now.
        await expire(context.bot, svc, turn)
        return
    async with settled(svc, turn):
        await answer_turn(context.bot, svc, turn)


@metrics.in_flight
async def answer_turn(bot: Bot, svc: Services, turn: Turn) -> None:
    """Generate (showing "typing…", then the answer as it grows) and deliver a stored turn's answer.

    In groups the answer is a reply to the message that asked; in private chats it is not
    (quoting every message there is noise).
    """
    chat_id = telegram_chat_id(turn.chat_id)
    quote = int(turn.reply_to) if turn.reply_to and chat_id < 0 else None
    try:
        async with answer_stream(bot, svc.telegram, svc.streams, chat_id, reply_to=quote) as answer:
            reply = await svc.conversation.generate(
                turn, on_delta=answer.on_delta, on_generated=answer.generated
            )
    except errors.ModelError as exc:
        await send_text(bot, chat_id, exc.user_message, reply_to=quote)
        return
    await answer.deliver(reply.text)
    await svc.conversation.delivered(reply)


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice note or file: a short note that only text is supported."""
    message: Message | None = update.effective_message
    if message is None or not is_addressed(message, context.bot.bot):
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
