"""Opening what every channel needs: storage, the model client, the embedded model if any.

`python -m bot run` (Telegram) and `python -m bot chat` (the terminal) both go through
`open_engine`, so an answer takes the same path whichever channel asked for it, and a local
model is reached through the same openai client as any remote provider. The settings are read
through `load_checked_settings`, which also checks the files they name.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.config import (
    ConversationSettings,
    Endpoint,
    ModelSettings,
    Settings,
)
from bot.engine.conversation.retention import Retention
from bot.engine.conversation.turns import Conversation
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.media.opening import open_media
from bot.engine.media.service import Media
from bot.engine.models import local_model
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.models.fallback import FallbackModel
from bot.engine.models.local_model import LocalModelError
from bot.engine.models.local_server import LocalModelServer
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.engine.profiles.personas import PersonaBook, PersonaFileError, load_personas
from bot.observability.logs import add_secrets, get_logger
from bot.observability.metrics import PrometheusEvents
from bot.storage import sqlite
from bot.storage.errors import StorageError, StoreInUse
from bot.storage.files import readable_by_others
from bot.storage.repositories import HealthCheck, Stores
from bot.storage.sqlite import Database

log = get_logger(__name__)

ENV_FILE = Path(".env")  # read by load_settings from the working directory

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

    endpoint: Endpoint  # as in effect: with a local model, its name is the only model
    conversation: Conversation
    gatekeeper: Gatekeeper
    health: HealthCheck  # the database's; channels call `ping`, not this
    demo_model: bool = False  # the tiny bundled model answers (say so to the user)
    media: Media | None = None  # files with questions; None when MEDIA_ENABLED=false

    async def ping(self) -> None:
        """Raise unless the database answers (what /healthz asks)."""
        await self.health.ping()


def warn_if_readable(path: Path) -> None:
    """Log `env_file_readable` when other users may read `path` (.env holds the secrets)."""
    mode = readable_by_others(path)
    if mode is not None:
        log.warning("env_file_readable", path=str(path), mode=f"{mode:04o}")


def make_llm(
    model: ModelSettings,
    endpoint: Endpoint,
    *,
    retry: RetryPolicy | None = None,
    events: EngineEvents = NO_EVENTS,
) -> LLMClient:
    """A client of `endpoint` with MODEL's timeout, retries (unless `retry` says otherwise)
    and APP_* headers; it reports its retries to `events`."""
    headers = {}
    if model.app_url:
        headers["HTTP-Referer"] = model.app_url
    if model.app_name:
        headers["X-Title"] = model.app_name
    if retry is None:
        retry = RetryPolicy(
            max_retries=model.openai_max_retries, max_seconds=model.openai_retry_max_seconds
        )
    key = endpoint.api_key
    return LLMClient(
        # Local servers (llama.cpp, Ollama, vLLM) accept any key; the SDK insists on one.
        api_key=key.get_secret_value() if key else "not-needed",
        base_url=endpoint.base_url,
        timeout=model.openai_timeout,
        retry=retry,
        headers=headers,
        events=events,
    )


def make_model(
    model: ModelSettings, endpoint: Endpoint, *, events: EngineEvents = NO_EVENTS
) -> ChatModel:
    """The primary model's client, behind a fallback when FALLBACK_MODEL is set (the fallback
    uses the primary's endpoint unless FALLBACK_BASE_URL / FALLBACK_API_KEY say otherwise)."""
    primary = make_llm(model, endpoint, events=events)
    if not model.fallback_model:
        return primary
    elsewhere = model.fallback_endpoint(endpoint)
    fallback = primary if elsewhere is None else make_llm(model, elsewhere, events=events)
    return FallbackModel(primary, fallback, model.fallback_model)


@asynccontextmanager
async def open_engine(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[Engine]:
    """Open the database, start the local model if configured, connect the client; close all
    after.

    `clock` (Unix time) dates stored messages and usage and decides budget periods. Raises
    StartupError when the database cannot be opened, the personas file cannot be used or the
    local model cannot be served.
    """
    events = PrometheusEvents()  # what the engine reports, counted for /metrics
    warn_if_readable(ENV_FILE)
    async with AsyncExitStack() as stack:
        personas = _personas(settings.conversation)
        stores = await open_stores(settings, stack)
        endpoint = await _endpoint(settings, stack)
        llm = make_model(settings.model, endpoint, events=events)
        stack.push_async_callback(llm.close)
        demo = settings.local_model is not None and local_model.is_bundled(settings.local_model)
        if demo:
            log.warning("demo_model_in_use", model=endpoint.default_model, hint=DEMO_MODEL_HINT)
        gatekeeper = _gatekeeper(settings, stores, endpoint, clock)
        media = await open_media(settings, stores, endpoint, stack, events=events, clock=clock)
        conversation = Conversation(
            stores,
            llm,
            endpoint,
            settings.conversation,
            summary=settings.summary,
            prices=settings.model.model_prices,
            personas=personas,
            clock=clock,
            events=events,
            spending=gatekeeper,  # each request's estimate held against the budgets
            contents=media,  # images shown to the model as parts
        )
        stack.push_async_callback(conversation.close)  # before the client and database close
        retention = Retention(
            stores.turns,
            stores.summaries,
            stores.conversations,
            settings.conversation.history_retention_days,
            clock=clock,
        )
        await stack.enter_async_context(retention.running())  # stopped before the database
        yield Engine(endpoint, conversation, gatekeeper, stores.health, demo, media)


def _gatekeeper(
    settings: Settings, stores: Stores, endpoint: Endpoint, clock: Callable[[], float]
) -> Gatekeeper:
    """Who may do what and how much: the limits, the models on offer (the fallback's too) and
    their prices."""
    return Gatekeeper(
        stores.usage,
        settings.limits,
        models=[*endpoint.models, settings.model.fallback_model or ""],
        prices=settings.model.model_prices,
        clock=clock,
    )


async def open_stores(settings: Settings, stack: AsyncExitStack) -> Stores:
    """Claim the database for this process and open it (SQLite: the one place that knows);
    `stack` closes it last. Raises StartupError when another process holds it."""
    path = settings.service.database_path
    claim = sqlite.ProcessLock(path)
    try:
        claim.acquire()
    except StoreInUse as exc:
        raise StartupError(
            f"Another bot process (pid {exc.holder}) is using the database {path}: stop it "
            "first, or give this one its own DATABASE_URL (two would answer the same messages)."
        ) from exc
    except OSError as exc:
        raise StartupError(f"Could not lock the database {path}: {exc.strerror}") from exc
    stack.callback(claim.release)  # after the database is closed
    database = Database(path)
    stack.push_async_callback(database.close)
    try:
        await database.open()
    except StorageError as exc:
        raise StartupError(f"Could not open the database {path}: {exc}") from exc
    return sqlite.stores(database)


def _personas(conversation: ConversationSettings) -> PersonaBook:
    try:
        return load_personas(conversation.personas_file)
    except PersonaFileError as exc:  # changed since the settings were checked
        raise StartupError(f"PERSONAS_FILE: {exc}") from exc


async def _endpoint(settings: Settings, stack: AsyncExitStack) -> Endpoint:
    """The configured provider, or the local model started for this run (its only model)."""
    if settings.local_model is None:
        return settings.model.endpoint
    server = await start_local_model(settings, stack)
    return local_endpoint(server)


def local_endpoint(server: LocalModelServer) -> Endpoint:
    """A started local server as an endpoint: the one model it serves, its own key."""
    name = server.model_name
    return Endpoint(server.base_url, SecretStr(server.api_key), (name,), name)


async def start_local_model(settings: Settings, stack: AsyncExitStack) -> LocalModelServer:
    """Start llama.cpp on LOCAL_MODEL (or the bundled model); `stack` stops it (after the
    client is closed)."""
    assert settings.local_model is not None
    local = settings.local
    try:
        server = LocalModelServer(
            local_model.check_available(settings.local_model),
            threads=local.local_model_threads,
            ctx_size=settings.local_slot_context,
            parallel=local.local_model_parallel,
        )
        await server.start()
    except LocalModelError as exc:
        raise StartupError(str(exc)) from exc
    stack.push_async_callback(server.stop)
    add_secrets([server.api_key])
    return server
