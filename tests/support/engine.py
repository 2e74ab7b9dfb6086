"""Building the engine's parts for their specs: real sections, real repositories, a real client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config import ConversationSettings, Endpoint, LimitSettings, SummarySettings
from bot.engine.conversation.turns import Conversation
from bot.engine.models.client import ChatModel, LLMClient, RetryPolicy
from bot.engine.policy.gatekeeper import Gatekeeper
from bot.storage.repositories import Stores

# Fast retries, so that a spec of a persistent failure takes milliseconds.
FAST_RETRY = RetryPolicy(max_retries=2, max_seconds=5, initial_wait=0.01, max_wait=0.01)
MODELS = ("gpt-test", "gpt-other")
MAX_AGE = 600.0  # PENDING_MAX_AGE_SECONDS of the conversation specs

MakeClient = Callable[..., LLMClient]


def conversation(
    stores: Stores, llm: ChatModel, clock: Callable[[], float], **settings: Any
) -> Conversation:
    """A Conversation over `stores` and `llm`; `settings` are ConversationSettings fields.

    Summaries are off: their requests would interleave with those a spec asserts on.
    """
    endpoint = Endpoint(base_url=None, api_key=None, models=MODELS, default_model=MODELS[0])
    return Conversation(
        stores,
        llm,
        endpoint,
        ConversationSettings(**settings),
        summary=SummarySettings(summary_enabled=False),
        prices={},
        clock=clock,
    )


def gatekeeper(stores: Stores, clock: Callable[[], float], **limits: Any) -> Gatekeeper:
    """A Gatekeeper over the real usage repository; `limits` are LimitSettings fields."""
    return Gatekeeper(stores.usage, LimitSettings(**limits), models=MODELS, prices={}, clock=clock)
