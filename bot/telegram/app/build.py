"""Builds the python-telegram-bot Application and registers every handler, in one place."""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from telegram import Update
from telegram.error import Forbidden
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import TelegramSettings
from bot.engine import errors
from bot.observability import metrics
from bot.observability.logs import get_logger
from bot.telegram.app.processor import PerChatUpdateProcessor
from bot.telegram.app.services import Services, install
from bot.telegram.handlers import admin, chat, commands, controls, guard, membership

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

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


async def bind_update_context(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its traceback; tell the user something short, never the error."""
    error = context.error
    log.error("handler_error", error_type=type(error).__name__, exc_info=error)
    metrics.ERRORS.labels(type=type(error).__name__).inc()
    if isinstance(error, Forbidden):
        return  # the chat refuses the bot's messages: an apology would be refused too
    if isinstance(update, Update) and update.effective_chat is not None:
        text = errors.user_message(error)
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except Exception:  # the error path must never raise again
            log.warning("error_reply_failed", exc_info=True)


def build_application(
    settings: TelegramSettings, svc: Services, processor: PerChatUpdateProcessor
) -> Application[Any, Any, Any, Any, Any, Any]:
    token = settings.telegram_bot_token
    assert token is not None
    builder = (
        ApplicationBuilder()
        .token(token.get_secret_value())
        .concurrent_updates(processor)
        .connection_pool_size(64)
        .get_updates_connection_pool_size(2)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    application = builder.build()
    install(application, svc)
    register_handlers(application)
    return application


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, bind_update_context), group=CONTEXT_GROUP)
    application.add_handler(TypeHandler(Update, guard.guard), group=guard.GUARD_GROUP)
    application.add_handler(CommandHandler("start", commands.start))
    application.add_handler(CommandHandler("help", commands.start))
    application.add_handler(CommandHandler("clear", commands.clear))
    application.add_handler(CommandHandler("stats", commands.stats))
    application.add_handler(CommandHandler("model", commands.model))
    application.add_handler(CommandHandler("usage", admin.usage))
    application.add_handler(CommandHandler("retry", commands.retry))
    application.add_handler(
        ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(
        CallbackQueryHandler(commands.model_button, pattern=f"^{commands.MODEL_BUTTON_PREFIX}")
    )
    application.add_handler(CommandHandler("persona", controls.persona))
    application.add_handler(CommandHandler("system", controls.system))
    application.add_handler(CommandHandler("export", controls.export))
    application.add_handler(
        CallbackQueryHandler(controls.persona_button, pattern=f"^{controls.PERSONA_BUTTON_PREFIX}")
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, commands.unknown)
    )
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, chat.on_text)
    )
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & NON_TEXT, chat.on_non_text))
    application.add_error_handler(on_error)
