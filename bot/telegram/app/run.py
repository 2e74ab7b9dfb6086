"""Running the Telegram channel: open resources, receive updates, and shut down gracefully.

The lifecycle is written out (rather than `run_polling`) so that shutdown can give in-flight
answers a bounded grace period and so tests can run the bot inside their own event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, suppress
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import ServiceSettings, Settings, TelegramSettings
from bot.observability.health import Probe, readiness
from bot.observability.logs import get_logger
from bot.replicas import Poller, dead_here
from bot.storage.errors import StorageError
from bot.telegram.app.build import build_application
from bot.telegram.app.dispatch import Dispatcher
from bot.telegram.app.inbox import RecordingSink
from bot.telegram.app.processor import PerChatUpdateProcessor
from bot.telegram.app.receive import AnyApplication, Receiving
from bot.telegram.handlers import stopping
from bot.telegram.handlers.admission import Admission, tell_dropped
from bot.telegram.handlers.context import BotApplication
from bot.telegram.handlers.table import MENU
from bot.telegram.reply.recovery import Recovery
from bot.telegram.reply.services import Services
from bot.wiring import Engine, StartupError, open_engine

__all__ = ["StartupError", "serve"]

log = get_logger(__name__)


async def serve(
    settings: Settings, stop: asyncio.Event, *, clock: Callable[[], float] = time.time
) -> None:
    """Run the bot until `stop` is set, then stop taking updates and finish in-flight ones.

    `clock` (Unix time) dates stored messages and usage and decides budget periods. With
    several replicas on PostgreSQL each one answers its share of the conversations (see
    bot/telegram/app/dispatch.py and bot/replicas.py).
    """
    async with AsyncExitStack() as stack:
        engine = await stack.enter_async_context(open_engine(settings, clock=clock))
        conversation, gatekeeper = engine.conversation, engine.gatekeeper
        gatekeeper.announce()
        svc = Services(conversation, settings.telegram, gatekeeper, media=engine.media)
        processor = _processor(settings.telegram, engine, svc)
        application = build_application(settings.telegram, svc, processor)
        dispatcher = _dispatcher(settings, engine, application)
        receiving = _receiving(settings, application, engine, dispatcher)
        await _start_health(stack, settings.service, readiness(receiving.problem, engine.ping))
        await _initialize(application)
        stack.push_async_callback(application.shutdown)
        await _set_commands(application.bot)
        recovery = Recovery(application.bot, svc, claims=dispatcher)
        if dispatcher is not None:
            processor.settled = dispatcher.settled  # settles in the inbox, then its lease
            dispatcher.recover = recovery.resume_chat
            stack.push_async_callback(dispatcher.close)  # leases given up once all is done
        await _resume(recovery)
        await application.start()
        if dispatcher is not None:
            dispatcher.start()
        how = await _start_receiving(application, receiving, settings.telegram)
        interval = settings.conversation.recovery_interval_seconds
        sweeper = asyncio.create_task(recovery.sweep_every(interval))
        model = engine.endpoint.default_model
        log.info("bot_started", username=application.bot.username, model=model, **how)
        await stop.wait()
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        log.info("bot_stopping", in_flight=processor.in_flight + recovery.in_flight)
        await receiving.stop()
        if dispatcher is not None:
            await dispatcher.stop_taking()
        await _stop_within_grace(
            _stop_all(application.stop(), recovery.wait(), svc.albums.wait()),
            [processor.cancel_in_flight, recovery.cancel, svc.albums.cancel],
            settings.service.shutdown_grace_seconds,
        )
    log.info("bot_stopped")


async def _initialize(application: BotApplication) -> None:
    """Ask Telegram who the bot is; say what to fix when it refuses or does not answer."""
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN: check the token.") from exc
    except TelegramError as exc:
        raise StartupError(f"Could not reach Telegram ({type(exc).__name__}).") from exc


def _dispatcher(
    settings: Settings, engine: Engine, application: BotApplication
) -> Dispatcher | None:
    """Several replicas (PostgreSQL): this replica's share of the conversations."""
    if engine.inbox is None or engine.leases is None:
        return None
    return Dispatcher(
        engine.inbox,
        engine.leases,
        holder=settings.database.replica_id,
        lease_seconds=settings.database.lease_seconds,
        queue=application.update_queue,
        bot=application.bot,
        dead=dead_here,
    )


def _receiving(
    settings: Settings, application: BotApplication, engine: Engine, dispatcher: Dispatcher | None
) -> Receiving:
    """Updates straight to this process's queue; or, with several replicas, to the inbox,
    polled only while this replica is the poller."""
    if engine.inbox is None or dispatcher is None:
        return Receiving(application)
    return Receiving(application, RecordingSink(engine.inbox, dispatcher.wake), Poller(settings))


def _processor(settings: TelegramSettings, engine: Engine, svc: Services) -> PerChatUpdateProcessor:
    """Per-chat queues, admission as updates arrive, /stop outside the queues (with several
    replicas each update is then settled by the dispatcher)."""
    return PerChatUpdateProcessor(
        engine.conversation.locks,
        max_queued_per_chat=settings.max_queued_per_chat,
        admit=Admission(engine.gatekeeper, svc.counted),
        tell_dropped=tell_dropped,
        bypass=stopping.is_stop,
    )


async def _start_health(stack: AsyncExitStack, settings: ServiceSettings, probe: Probe) -> None:
    """Serve /healthz and /metrics on HEALTH_LISTEN:HEALTH_PORT (0: not at all)."""
    if settings.health_port == 0:
        return
    from bot.observability.health_server import HealthServer  # noqa: PLC0415 - aiohttp.web

    server = HealthServer(settings.health_listen, settings.health_port, probe)
    try:
        await server.start()
    except OSError as exc:
        raise StartupError(
            f"Cannot serve /healthz on {settings.health_listen}:{settings.health_port} "
            f"({exc.strerror or exc}): set HEALTH_PORT to a free port, or 0 to turn it off."
        ) from exc
    stack.push_async_callback(server.stop)


async def _start_receiving(
    application: AnyApplication, receiving: Receiving, settings: TelegramSettings
) -> dict[str, Any]:
    """Start polling or the webhook; on failure stop the application and say why."""
    try:
        return await receiving.start(settings)
    except TelegramError as exc:
        await application.stop()
        what = "set the webhook" if settings.webhook_url else "start polling"
        raise StartupError(f"Telegram refused to {what}: {exc.message}") from exc
    except OSError as exc:
        await application.stop()
        raise StartupError(
            f"Cannot listen for the webhook on {settings.webhook_listen}:"
            f"{settings.webhook_port} ({exc.strerror or exc})."
        ) from exc


async def _set_commands(bot: Bot) -> None:
    try:
        await bot.set_my_commands(MENU)
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
