"""Opening what every channel needs: the database, the model client, the embedded model if any.

`python -m bot run` (Telegram) and `python -m bot chat` (the terminal) both go through
`open_engine`, so an answer takes the same path whichever channel asked for it, and a local
model is reached through the same openai client as any remote provider.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.config import Settings
from bot.engine.conversation.turns import Conversation
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models import local_server as local_model
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.models.fallback import FallbackModel
from bot.engine.models.local_server import LocalModelError, LocalModelServer
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.observability.logs import add_secrets, get_logger
from bot.observability.metrics import PrometheusEvents
from bot.storage import sqlite
from bot.storage.errors import StorageError
from bot.storage.repositories import HealthCheck, Stores
from bot.storage.sqlite import Database

log = get_logger(__name__)

DEMO_MODEL_HINT = (
    "The bundled SmolLM2-135M is a tiny demo model: fine for trying the bot, not for real "
    "answers. Set OPENAI_API_KEY (or OPENAI_BASE_URL) for a provider, or LOCAL_MODEL to the "
    "path of a bigger GGUF file."
)


class StartupError(Exception):
    """The bot could not start; the message says why in plain words."""


@dataclass(frozen=True)
class Engine:
    """The open resources a channel works with (never the storage behind them)."""

    settings: Settings  # as in effect: with a local model, its name is the only model
    conversation: Conversation
    gatekeeper: Gatekeeper
    health: HealthCheck  # the database's; channels call `ping`, not this
    demo_model: bool = False  # the tiny bundled model answers (say so to the user)

    async def ping(self) -> None:
        """Raise unless the database answers (what /healthz asks)."""
        await self.health.ping()


def make_llm(
    settings: Settings,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    events: EngineEvents = NO_EVENTS,
) -> LLMClient:
    """A model client; `base_url`/`api_key` override the settings (the local server, the
    fallback's endpoint); it reports its retries to `events`."""
    headers = {}
    if settings.app_url:
        headers["HTTP-Referer"] = settings.app_url
    if settings.app_name:
        headers["X-Title"] = settings.app_name
    key = settings.openai_api_key
    return LLMClient(
        # Local servers (llama.cpp, Ollama, vLLM) accept any key; the SDK insists on one.
        api_key=api_key or (key.get_secret_value() if key else "not-needed"),
        base_url=base_url or settings.openai_base_url,
        timeout=settings.openai_timeout,
        retry=RetryPolicy(
            max_retries=settings.openai_max_retries, max_seconds=settings.openai_retry_max_seconds
        ),
        headers=headers,
        events=events,
    )


def make_model(
    settings: Settings,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    events: EngineEvents = NO_EVENTS,
) -> ChatModel:
    """The primary model's client, behind a fallback when FALLBACK_MODEL is set (the fallback
    uses the primary's endpoint unless FALLBACK_BASE_URL / FALLBACK_API_KEY say otherwise)."""
    primary = make_llm(settings, base_url=base_url, api_key=api_key, events=events)
    if not settings.fallback_model:
        return primary
    fallback = primary
    if settings.fallback_base_url or settings.fallback_api_key:
        key = settings.fallback_api_key
        fallback = make_llm(
            settings,
            base_url=settings.fallback_base_url or base_url,
            api_key=key.get_secret_value() if key else api_key,
            events=events,
        )
    return FallbackModel(primary, fallback, settings.fallback_model)


@asynccontextmanager
async def open_engine(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[Engine]:
    """Open the database, start the local model if configured, connect the client; close all
    after.

    `clock` (Unix time) dates stored messages and usage and decides budget periods. Raises
    StartupError when the database cannot be opened or the local model cannot be served.
    """
    events = PrometheusEvents()  # what the engine reports, counted for /metrics
    async with AsyncExitStack() as stack:
        stores = await open_stores(settings, stack)
        demo = False
        if settings.local_model is None:
            llm = make_model(settings, events=events)
        else:
            server = await start_local_model(settings, stack)
            demo = local_model.is_bundled(settings.local_model)
            settings = settings.model_copy(
                update={"openai_model": server.model_name, "openai_models": [server.model_name]}
            )
            llm = make_model(
                settings, base_url=server.base_url, api_key=server.api_key, events=events
            )
        stack.push_async_callback(llm.close)
        if demo:
            log.warning("demo_model_in_use", model=settings.openai_model, hint=DEMO_MODEL_HINT)
        conversation = Conversation(stores, llm, settings, clock=clock, events=events)
        stack.push_async_callback(conversation.close)  # before the client and database close
        gatekeeper = Gatekeeper(stores.usage, settings, clock=clock)
        yield Engine(settings, conversation, gatekeeper, stores.health, demo)


async def open_stores(settings: Settings, stack: AsyncExitStack) -> Stores:
    """Open the database (SQLite: the one place that knows); `stack` closes it last."""
    database = Database(settings.database_path)
    stack.push_async_callback(database.close)
    try:
        await database.open()
    except StorageError as exc:
        raise StartupError(f"Could not open the database {settings.database_path}: {exc}") from exc
    return sqlite.stores(database)


async def start_local_model(settings: Settings, stack: AsyncExitStack) -> LocalModelServer:
    """Start llama.cpp on LOCAL_MODEL; `stack` stops it (after the client is closed)."""
    assert settings.local_model is not None
    try:
        server = LocalModelServer(
            local_model.check_available(settings.local_model),
            threads=settings.local_model_threads,
            ctx_size=settings.local_slot_context,
            parallel=settings.local_model_parallel,
        )
        await server.start()
    except LocalModelError as exc:
        raise StartupError(str(exc)) from exc
    stack.push_async_callback(server.stop)
    add_secrets([server.api_key])
    return server
