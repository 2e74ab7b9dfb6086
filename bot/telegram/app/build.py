"""Builds the python-telegram-bot Application and registers every handler, in one place."""

from __future__ import annotations

import re
import secrets

import structlog
from telegram import Update
from telegram.error import Forbidden
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import TelegramSettings
from bot.engine import errors
from bot.observability import metrics
from bot.observability.logs import get_logger
from bot.telegram.app.processor import PerChatUpdateProcessor
from bot.telegram.app.transport import AiohttpRequest
from bot.telegram.handlers import chat, guard, media, membership, stopping, table
from bot.telegram.handlers.context import CONTEXT_TYPES, BotApplication, BotContext, install
from bot.telegram.handlers.incoming import on_button, on_message, topic_of
from bot.telegram.reply.services import Services

log = get_logger(__name__)

# Updates are grouped: the log context is bound first, then exactly one handler answers.
CONTEXT_GROUP = -10

NON_TEXT = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.CONTACT
)

MEDIA = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | filters.Document.ALL

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,  # edit to ask again (handlers/chat.py)
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    stopping.GENERATION_STOPPED,  # a private draft's own stop (Bot API 10.3)
]
# Handlers of updates python-telegram-bot does not know (they arrive in api_kwargs).
RAW_GROUP = 1


async def bind_update_context(update: Update, _context: BotContext) -> None:
    """Every log line while an update is handled carries its update_id, chat_id, user_id, and a
    correlation_id that is new for each handling (a re-delivered update gets a new one)."""
    structlog.contextvars.clear_contextvars()
    metrics.UPDATES.labels(type=_update_type(update)).inc()
    structlog.contextvars.bind_contextvars(
        correlation_id=secrets.token_hex(6),
        update_id=update.update_id,
        chat_id=update.effective_chat.id if update.effective_chat else None,
        user_id=update.effective_user.id if update.effective_user else None,
    )
    log.debug("update_received")


def _update_type(update: Update) -> str:
    return next((kind for kind in ALLOWED_UPDATES if getattr(update, kind, None)), "other")


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its traceback; tell the user something short, never the error,
    in the topic the update came from."""
    error = context.error
    log.error("handler_error", error_type=type(error).__name__, exc_info=error)
    metrics.ERRORS.labels(type=type(error).__name__).inc()
    if isinstance(error, Forbidden):
        return  # the chat refuses the bot's messages: an apology would be refused too
    if isinstance(update, Update) and update.effective_chat is not None:
        text = errors.user_message(error)
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                text,
                message_thread_id=topic_of(update.effective_message),
            )
        except Exception:  # the error path must never raise again
            log.warning("error_reply_failed", exc_info=True)


def file_url(base_url: str) -> str:
    """Where a Bot API server at `base_url` (".../bot") serves files: ".../file/bot"."""
    root, _, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{root}/file/bot" if root else base_url.rstrip("/") + "/file/bot"


def build_application(
    settings: TelegramSettings, svc: Services, processor: PerChatUpdateProcessor
) -> BotApplication:
    token = settings.telegram_bot_token
    assert token is not None
    builder = (
        ApplicationBuilder()
        .token(token.get_secret_value())
        .concurrent_updates(processor)
        .request(AiohttpRequest(64))  # python-telegram-bot's own pool size for its calls
        .get_updates_request(AiohttpRequest(2))
        .context_types(CONTEXT_TYPES)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
        builder = builder.base_file_url(file_url(settings.telegram_base_url))
    application = builder.build()
    install(application, svc)
    register_handlers(application)
    return application


def register_handlers(application: BotApplication) -> None:
    """The log context and the guard first, then the command table, then plain messages."""
    application.add_handler(TypeHandler(Update, bind_update_context), group=CONTEXT_GROUP)
    application.add_handler(TypeHandler(Update, guard.guard), group=guard.GUARD_GROUP)
    for command in table.COMMANDS:
        handler = on_message(command.handler)  # new messages only: an edited command is not run
        application.add_handler(
            CommandHandler(command.names, handler, filters=filters.UpdateType.MESSAGE)
        )
    for button in table.BUTTONS:
        application.add_handler(
            CallbackQueryHandler(
                on_button(button.prefix, button.handler), pattern=f"^{re.escape(button.prefix)}"
            )
        )
    application.add_handler(
        ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(TypeHandler(Update, stopping.on_generation_stopped), group=RAW_GROUP)
    others = filters.UpdateType.MESSAGE & filters.COMMAND  # the table's commands matched above
    application.add_handler(MessageHandler(others, on_message(table.unknown)))
    text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(text, on_message(chat.on_text)))
    edited = filters.UpdateType.EDITED_MESSAGE & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(edited, on_message(chat.on_edit)))
    files = filters.UpdateType.MESSAGE & MEDIA  # what the model can be given (handlers/media)
    application.add_handler(MessageHandler(files, on_message(media.on_media)))
    non_text = filters.UpdateType.MESSAGE & NON_TEXT
    application.add_handler(MessageHandler(non_text, on_message(chat.on_non_text)))
    application.add_error_handler(on_error)
