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
    ServersFileError,
    Settings,
)
from bot.config.providers import Catalogue, catalogue_from_env, fallback_chain
from bot.config.providers_file import ProvidersFileError, catalogue_of
from bot.engine.conversation.retention import Retention
from bot.engine.conversation.turns import Conversation
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models import local_model
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.models.local_model import LocalModelError
from bot.engine.models.local_server import LocalModelServer
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.engine.profiles.personas import PersonaBook, PersonaFileError, load_personas
from bot.engine.providers.catalogue import capability_map, prices
from bot.engine.providers.clients import open_model
from bot.engine.tools.loop import ToolLoop
from bot.engine.tools.opening import start_tools
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
        catalogue, capabilities, llm = await _open_models(settings, stack, events)
        endpoint = _offered(catalogue)
        demo = settings.local_model is not None and local_model.is_bundled(settings.local_model)
        if demo:
            log.warning("demo_model_in_use", model=endpoint.default_model, hint=DEMO_MODEL_HINT)
        gatekeeper = _gatekeeper(settings, stores, catalogue, clock)
        tools = await open_tools(
            settings, stack, events, capabilities
        )  # closed after the conversation
        conversation = Conversation(
            stores,
            llm,
            endpoint,
            settings.conversation,
            summary=settings.summary,
            prices=prices(catalogue, settings.model),
            personas=personas,
            clock=clock,
            events=events,
            spending=gatekeeper,  # each request's estimate held against the budgets
            capabilities=capabilities,
            tools=tools,
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
        yield Engine(endpoint, conversation, gatekeeper, stores.health, demo)


async def _open_models(
    settings: Settings, stack: AsyncExitStack, events: EngineEvents
) -> tuple[Catalogue, CapabilityMap, ChatModel]:
    """The catalogue, what its models can do, and the client every conversation asks (the
    router over one client per provider, behind the fallbacks); `stack` closes the client."""
    catalogue = await _catalogue(settings, stack)
    add_secrets(catalogue.secrets())  # the keys the file names, never logged
    capabilities = capability_map(catalogue, settings.model)
    llm = open_model(
        catalogue,
        settings.model,
        capabilities=capabilities,
        events=events,
        show_reasoning=settings.providers.show_reasoning,
    )
    stack.push_async_callback(llm.close)
    return catalogue, capabilities, llm


async def open_tools(
    settings: Settings,
    stack: AsyncExitStack,
    events: EngineEvents,
    capabilities: CapabilityMap | None = None,
) -> ToolLoop | None:
    """The MCP servers of MCP_SERVERS_FILE started (engine/tools/opening.py); None when off."""
    if capabilities is None:
        capabilities = capability_map(
            catalogue_of(settings.model, settings.providers), settings.model
        )
    try:
        return await start_tools(settings, stack, events, capabilities)
    except ServersFileError as exc:  # changed since the settings were checked
        raise StartupError(f"MCP_SERVERS_FILE: {'; '.join(exc.problems)}") from exc


def _gatekeeper(
    settings: Settings, stores: Stores, catalogue: Catalogue, clock: Callable[[], float]
) -> Gatekeeper:
    """Who may do what and how much: the limits, the models on offer (the fallbacks too) and
    their prices."""
    return Gatekeeper(
        stores.usage,
        settings.limits,
        models=[*catalogue.models, *catalogue.fallback_models],
        prices=prices(catalogue, settings.model),
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


async def _catalogue(settings: Settings, stack: AsyncExitStack) -> Catalogue:
    """The configured providers (PROVIDERS_FILE, or OPENAI_*), or the local model started for
    this run (its only model)."""
    if settings.local_model is None:
        try:
            return catalogue_of(settings.model, settings.providers)
        except ProvidersFileError as exc:  # changed since the settings were checked
            raise StartupError(f"PROVIDERS_FILE: {exc}") from exc
    server = await start_local_model(settings, stack)
    fallbacks = fallback_chain(settings.model, settings.providers)
    return catalogue_from_env(settings.model, fallbacks, local_endpoint(server))


def _offered(catalogue: Catalogue) -> Endpoint:
    """What chats may choose from: every provider's models; the first provider's address."""
    first, providers = catalogue.providers[0], catalogue.providers
    groups = tuple((p.name, tuple(m.name for m in p.models if m.offered)) for p in providers)
    offered = tuple((name, models) for name, models in groups if models)
    return Endpoint(
        first.base_url,
        first.api_key,
        catalogue.models,
        catalogue.default_model,
        offered if len(offered) > 1 else (),
    )


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
