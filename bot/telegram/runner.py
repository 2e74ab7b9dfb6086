"""Running the Telegram channel: open resources, poll, and shut down gracefully.

The lifecycle is written out (rather than `run_polling`) so that shutdown can give in-flight
answers a bounded grace period and so tests can run the bot inside their own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, suppress
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.engine.conversation import Conversation
from bot.engine.llm import LLMClient, RetryPolicy
from bot.logs import get_logger
from bot.storage.base import StorageError
from bot.storage.sqlite import SQLiteStorage
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.commands import COMMANDS
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.recovery import Recovery
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
        stack.push_async_callback(storage.close)
        try:
            await storage.open()
        except StorageError as exc:
            raise StartupError(
                f"Could not open the database {settings.database_path}: {exc}"
            ) from exc
        llm = make_llm(settings)
        stack.push_async_callback(llm.close)
        conversation = Conversation(storage, llm, settings)
        processor = PerChatUpdateProcessor(conversation.locks)
        svc = Services(conversation, settings)
        application = build_application(settings, svc, processor)
        try:
            await application.initialize()
        except InvalidToken as exc:
            raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN: check the token.") from exc
        except TelegramError as exc:
            raise StartupError(f"Could not reach Telegram ({type(exc).__name__}).") from exc
        stack.push_async_callback(application.shutdown)
        await _set_commands(application.bot)
        recovery = Recovery(application.bot, svc)
        await _resume(recovery)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        sweeper = asyncio.create_task(recovery.sweep_every(settings.recovery_interval_seconds))
        log.info(
            "bot_started",
            username=application.bot.username,
            model=settings.openai_model,
            mode="polling",
        )
        await stop.wait()
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        log.info("bot_stopping", in_flight=processor.in_flight + recovery.in_flight)
        await application.updater.stop()
        await _stop_within_grace(
            _stop_all(application.stop(), recovery.wait()),
            [processor.cancel_in_flight, recovery.cancel],
            settings.shutdown_grace_seconds,
        )
    log.info("bot_stopped")


async def _set_commands(bot: Bot) -> None:
    try:
        await bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("set_commands_failed", error=type(exc).__name__)


async def _resume(recovery: Recovery) -> None:
    """Start finishing what the last run left unfinished (never keeps the bot from starting)."""
    try:
        await recovery.resume()
    except StorageError as exc:
        log.exception("recovery_failed", error=str(exc))  # the periodic sweep tries again


async def _stop_all(*stopping: Coroutine[Any, Any, None]) -> None:
    await asyncio.gather(*stopping)


async def _stop_within_grace(
    stopping: Coroutine[Any, Any, None], cancellers: Sequence[Callable[[], int]], grace: float
) -> None:
    """Let in-flight answers finish for `grace` seconds; cancel the rest.

    A cancelled answer's turn stays unfinished in the database and is finished at the next
    start (see recovery.py).
    """
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        cancelled = sum(cancel() for cancel in cancellers)
        log.warning("shutdown_grace_expired", cancelled=cancelled, grace_s=grace)
    await task
