"""One openai client per provider, behind the router and the fallback chain: the `ChatModel`
every conversation asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from bot.config import ModelSettings
from bot.config.providers import Catalogue, Provider
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.models.fallback import FallbackModel
from bot.engine.providers.router import ProviderRouter
from bot.observability.logs import get_logger

log = get_logger(__name__)

NO_KEY = "not-needed"  # local servers (llama.cpp, Ollama, vLLM) take any key; the SDK wants one


def provider_client(
    provider: Provider,
    model: ModelSettings,
    *,
    capabilities: CapabilityMap,
    events: EngineEvents = NO_EVENTS,
    retry: RetryPolicy | None = None,
) -> LLMClient:
    """The client of one provider: its key, headers, timeout, retries, dialect and cap."""
    headers = dict(provider.headers)
    if provider.dialect.attribution and model.app_url:
        headers.setdefault("HTTP-Referer", model.app_url)
    if provider.dialect.attribution and model.app_name:
        headers.setdefault("X-Title", model.app_name)
    key = provider.api_key
    return LLMClient(
        api_key=key.get_secret_value() if key else NO_KEY,
        base_url=provider.base_url,
        timeout=provider.timeout,
        retry=retry or RetryPolicy(provider.max_retries, provider.retry_max_seconds),
        headers=headers,
        events=events,
        dialect=provider.dialect,
        reasoning=frozenset(m.id for m in provider.models if capabilities.of(m.name).reasoning),
        slot=_slot(provider.name, provider.max_concurrency),
    )


def _slot(provider: str, cap: int | None) -> Callable[[], AbstractAsyncContextManager[object]]:
    """Requests beyond `cap` wait their turn, first come first served (asyncio.Semaphore
    wakes its waiters in order and lets no newcomer past them), so no chat starves."""
    if cap is None:
        return nullcontext
    semaphore = asyncio.Semaphore(cap)

    @asynccontextmanager
    async def held() -> AsyncIterator[None]:
        if semaphore.locked():
            log.info("provider_queue_wait", provider=provider, cap=cap)
        async with semaphore:
            yield

    return held


def open_model(
    catalogue: Catalogue,
    model: ModelSettings,
    *,
    capabilities: CapabilityMap,
    events: EngineEvents = NO_EVENTS,
    show_reasoning: bool = True,
) -> ChatModel:
    """The router over every provider's client, behind the fallback chain (FALLBACK_MODELS:
    each tried in turn when the one before is unavailable); SHOW_REASONING=false keeps the
    thinking from `on_delta`."""
    clients = {
        p.name: provider_client(p, model, capabilities=capabilities, events=events)
        for p in catalogue.providers
    }
    router = ProviderRouter(catalogue, clients, show_reasoning=show_reasoning)
    chained: ChatModel = router
    for name in catalogue.fallback_models:
        chained = FallbackModel(chained, _serving(router, catalogue, name), name)
    return chained


def _serving(router: ProviderRouter, catalogue: Catalogue, name: str) -> ChatModel:
    """Who answers the fallback `name`: the provider that has it as a fallback only (its own
    endpoint, FALLBACK_BASE_URL), else whichever serves it."""
    for provider in catalogue.providers:
        if any(m.name == name and not m.offered for m in provider.models):
            return router.pinned(provider.name)
    return router
