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
from bot.logs import get_logger
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.commands import COMMANDS
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.services import Services
from bot.wiring import StartupError, open_engine

__all__ = ["StartupError", "serve"]

log = get_logger(__name__)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set, then stop taking updates and finish in-flight ones."""
    async with AsyncExitStack() as stack:
        engine = await stack.enter_async_context(open_engine(settings))
        settings, conversation = engine.settings, engine.conversation
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
