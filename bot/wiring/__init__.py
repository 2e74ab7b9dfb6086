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

from bot.config import (
    ConversationSettings,
    Endpoint,
    Settings,
)
from bot.config.providers import Catalogue
from bot.engine.conversation.retention import Retention
from bot.engine.conversation.turns import Conversation
from bot.engine.media.opening import open_media
from bot.engine.media.service import Media
from bot.engine.models import local_model
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.engine.policy.shared import SharedState
from bot.engine.profiles.personas import PersonaBook, PersonaFileError, load_personas
from bot.engine.providers.catalogue import prices
from bot.observability.health import Degraded
from bot.observability.logs import get_logger
from bot.observability.metrics import PrometheusEvents
from bot.storage.repositories import ChatLeases, HealthCheck, Stores, UpdateInbox
from bot.wiring.errors import StartupError
from bot.wiring.models import (
    local_endpoint,
    make_llm,
    offered,
    open_models,
    open_tools,
    start_local_model,
)
from bot.wiring.stores import open_stores, shared_state, warn_if_readable

__all__ = [
    "DEMO_MODEL_HINT",
    "ENV_FILE",
    "Engine",
    "StartupError",
    "local_endpoint",
    "make_llm",
    "open_engine",
    "open_stores",
    "open_tools",
    "start_local_model",
    "warn_if_readable",
]

log = get_logger(__name__)

ENV_FILE = Path(".env")  # read by load_settings from the working directory

DEMO_MODEL_HINT = (
    "The bundled SmolLM2-135M is a tiny demo model: fine for trying the bot, not for real "
    "answers. Set OPENAI_API_KEY (or OPENAI_BASE_URL) for a provider, or LOCAL_MODEL to the "
    "path of a bigger GGUF file."
)


@dataclass(frozen=True)
class Engine:
    """The open resources a channel works with (never the storage behind them)."""

    endpoint: Endpoint  # as in effect: with a local model, its name is the only model
    conversation: Conversation
    gatekeeper: Gatekeeper
    health: HealthCheck  # the database's; channels call `ping`, not this
    demo_model: bool = False  # the tiny bundled model answers (say so to the user)
    shared: SharedState | None = None  # Redis (REDIS_URL), if any
    inbox: UpdateInbox | None = None  # updates recorded for every replica (PostgreSQL)
    media: Media | None = None  # files with questions; None when MEDIA_ENABLED=false
    leases: ChatLeases | None = None  # one replica per conversation (PostgreSQL)

    async def ping(self) -> None:
        """Raise unless the database answers (what /healthz asks); `Degraded` when only
        Redis does not (limits fall back to this process's memory meanwhile)."""
        await self.health.ping()
        if self.shared is None:
            return
        try:
            await self.shared.ping()
        except Exception as exc:
            self.shared.unavailable(exc)
            raise Degraded(
                f"Redis is unavailable ({type(exc).__name__}): limits are per process until "
                "it answers"
            ) from exc


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
        catalogue, capabilities, llm = await open_models(settings, stack, events)
        endpoint = offered(catalogue)
        demo = settings.local_model is not None and local_model.is_bundled(settings.local_model)
        if demo:
            log.warning("demo_model_in_use", model=endpoint.default_model, hint=DEMO_MODEL_HINT)
        shared = await shared_state(settings, stack)
        gatekeeper = _gatekeeper(settings, stores, catalogue, clock, shared)
        tools = await open_tools(settings, stack, events, capabilities)  # closed after it
        media = await open_media(
            settings, stores, endpoint, stack, events=events, clock=clock, capabilities=capabilities
        )
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
            contents=media,  # images shown to the model as parts
        )
        stack.push_async_callback(conversation.close)  # before the client and database close
        retention = _retention(settings, stores, clock)
        await stack.enter_async_context(retention.running())  # stopped before the database
        inbox, leases = stores.inbox, stores.leases  # several replicas (PostgreSQL)
        yield Engine(
            endpoint, conversation, gatekeeper, stores.health, demo, shared, inbox, media, leases
        )


def _retention(settings: Settings, stores: Stores, clock: Callable[[], float]) -> Retention:
    """HISTORY_RETENTION_DAYS: old turns, summaries and conversations deleted in the background."""
    days = settings.conversation.history_retention_days
    return Retention(stores.turns, stores.summaries, stores.conversations, days, clock=clock)


def _gatekeeper(
    settings: Settings,
    stores: Stores,
    catalogue: Catalogue,
    clock: Callable[[], float],
    shared: SharedState | None,
) -> Gatekeeper:
    """Who may do what and how much: the limits, the models on offer (the fallbacks too) and
    their prices."""
    return Gatekeeper(
        stores.usage,
        settings.limits,
        models=[*catalogue.models, *catalogue.fallback_models],
        prices=prices(catalogue, settings.model),
        clock=clock,
        shared=shared,
    )


def _personas(conversation: ConversationSettings) -> PersonaBook:
    try:
        return load_personas(conversation.personas_file)
    except PersonaFileError as exc:  # changed since the settings were checked
        raise StartupError(f"PERSONAS_FILE: {exc}") from exc
