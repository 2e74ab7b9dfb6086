"""Running the Telegram channel: open resources, poll, and shut down gracefully.

The lifecycle is written out (rather than `run_polling`) so that shutdown can give in-flight
answers a bounded grace period and so tests can run the bot inside their own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.engine.conversation import Conversation
from bot.engine.llm import LLMClient, RetryPolicy
from bot.logs import get_logger
from bot.storage.sqlite import SQLiteStorage
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.commands import COMMANDS
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.services import Services

log = get_logger(__name__)


class StartupError(Exception):
    """The bot could not start; the message says why in plain words."""


def make_llm(settings: Settings) -> LLMClient:
    headers = {}
    if settings.app_url:
        headers["HTTP-Referer"] = settings.app_url
    if settings.app_name:
        headers["X-Title"] = settings.app_name
    key = settings.openai_api_key
    return LLMClient(
        # Local servers (llama.cpp, Ollama, vLLM) accept any key; the SDK insists on one.
        api_key=key.get_secret_value() if key else "not-needed",
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout,
        retry=RetryPolicy(
            max_retries=settings.openai_max_retries, max_seconds=settings.openai_retry_max_seconds
        ),
        headers=headers,
    )


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set, then stop taking updates and finish in-flight ones."""
    async with AsyncExitStack() as stack:
        storage = SQLiteStorage(settings.database_path)
        await storage.open()
        stack.push_async_callback(storage.close)
        llm = make_llm(settings)
        stack.push_async_callback(llm.close)
        conversation = Conversation(storage, llm, settings)
        stack.push_async_callback(conversation.close)  # before the client and storage close
        processor = PerChatUpdateProcessor(conversation.locks)
        application = build_application(settings, Services(conversation, settings), processor)
        try:
            await application.initialize()
        except InvalidToken as exc:
            raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN: check the token.") from exc
        except TelegramError as exc:
            raise StartupError(f"Could not reach Telegram ({type(exc).__name__}).") from exc
        stack.push_async_callback(application.shutdown)
        await _set_commands(application.bot)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        log.info(
            "bot_started",
            username=application.bot.username,
            model=settings.openai_model,
            mode="polling",
        )
        await stop.wait()
        log.info("bot_stopping", in_flight=processor.in_flight)
        await application.updater.stop()
        await _stop_within_grace(application.stop(), processor, settings.shutdown_grace_seconds)
    log.info("bot_stopped")


async def _set_commands(bot: Bot) -> None:
    try:
        await bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("set_commands_failed", error=type(exc).__name__)


async def _stop_within_grace(
    stopping: Coroutine[Any, Any, None], processor: PerChatUpdateProcessor, grace: float
) -> None:
    """Let in-flight answers finish for `grace` seconds; cancel the rest.

    A cancelled answer's turn stays pending in the database.
    """
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        cancelled = processor.cancel_in_flight()
        log.warning("shutdown_grace_expired", cancelled=cancelled, grace_s=grace)
    await task
