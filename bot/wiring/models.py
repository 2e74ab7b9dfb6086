"""Opening the models: the providers' catalogue (or OPENAI_*, or the local model started for
this run), the client every conversation asks, and the MCP tools."""

from __future__ import annotations

from contextlib import AsyncExitStack

from pydantic import SecretStr

from bot.config import (
    Endpoint,
    ModelSettings,
    ServersFileError,
    Settings,
)
from bot.config.providers import Catalogue, catalogue_from_env, fallback_chain
from bot.config.providers_file import ProvidersFileError, catalogue_of
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models import local_model
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.models.local_model import LocalModelError
from bot.engine.models.local_server import LocalModelServer
from bot.engine.providers.catalogue import capability_map
from bot.engine.providers.clients import open_model
from bot.engine.tools.loop import ToolLoop
from bot.engine.tools.opening import start_tools
from bot.observability.logs import add_secrets, get_logger
from bot.wiring.errors import StartupError

log = get_logger(__name__)


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


async def open_models(
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


def offered(catalogue: Catalogue) -> Endpoint:
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
