"""The OpenAI-compatible client: one endpoint's answers, streamed, retried, translated.

Streaming one attempt lives in streaming.py, the retry policy in retrying.py and the
translation of SDK errors into ours in translation.py; this module puts them together.
The value types (`Completion`, `TokenCount`, `OnDelta`, `ChatModel`) live in completion.py
and are re-exported here for the callers that import them with the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config.providers import DEFAULT_DIALECT, Dialect
from bot.engine import errors
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models.completion import ChatModel, Completion, OnDelta, TokenCount
from bot.engine.models.retrying import RetryPolicy, retrying
from bot.engine.models.sdk import LazySdk, sdk_errors
from bot.engine.models.streaming import CompletionStream
from bot.engine.models.translation import translate

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "ChatModel",
    "Completion",
    "LLMClient",
    "OnDelta",
    "RetryPolicy",
    "TokenCount",
]


def _http_client(base_url: str | None, timeout: float) -> Callable[[], httpx2.AsyncClient] | None:
    """The SDK's aiohttp transport (the `aiohttp` extra): the same requests, errors and SSE
    decoding, with HTTP parsed in C instead of httpx's pure-Python pool. Not for a base URL
    with credentials in it (user:password@host): aiohttp refuses those beside the SDK's own
    Authorization header, where httpx sends them; the SDK's default client keeps doing so."""
    if base_url and urlsplit(base_url).username is not None:
        return None

    def aiohttp_client() -> httpx2.AsyncClient:
        import openai  # noqa: PLC0415 - made with the SDK client, on first use (sdk.py)

        return openai.DefaultAioHttpClient(timeout=timeout)

    return aiohttp_client


class LLMClient:
    """Streams chat completions from one OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        retry: RetryPolicy,
        headers: dict[str, str] | None = None,
        events: EngineEvents = NO_EVENTS,
        dialect: Dialect = DEFAULT_DIALECT,
        reasoning: frozenset[str] = frozenset(),
        slot: Callable[[], AbstractAsyncContextManager[object]] = nullcontext,
    ) -> None:
        """`dialect` shapes requests for the provider; `reasoning` names its reasoning models;
        each attempt holds a `slot` (the provider's concurrency cap) while it streams."""
        self._client = LazySdk(
            _http_client(base_url, timeout),
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            default_headers=headers or None,
        )
        self._retry = retry
        self._events = events  # counts each retry
        self._stream = CompletionStream(self._client, dialect, reasoning)
        self._slot = slot

    async def close(self) -> None:
        await self._client.close()

    async def models(self) -> list[str]:
        """The model names the provider lists (GET /models); raises a `ModelError`."""
        try:
            return sorted([model.id async for model in self._client().models.list()])
        except sdk_errors() as exc:
            raise translate(exc) from exc

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None = None,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        """Stream one answer, retrying passing failures that happen before any text arrived;
        `tools` are offered to the model (see streaming.py), its calls are in the completion.

        Raises a `ModelError`; `StreamInterrupted` carries the text received before a cut.
        """
        started = time.monotonic()
        shown: list[str] = []
        attempts = 0
        try:
            async for attempt in retrying(self._retry, model, shown, self._events):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    async with self._slot():
                        attempt_started = time.monotonic()
                        streamed = await self._stream.once(
                            messages,
                            model=model,
                            max_tokens=max_tokens,
                            temperature=temperature,
                            on_delta=on_delta,
                            shown=shown,
                            tools=tools,
                        )
                    first = streamed.first_token_at
                    return Completion(
                        text=streamed.text,
                        usage=streamed.usage,
                        attempts=attempts,
                        latency_s=time.monotonic() - started,
                        ttft_s=None if first is None else first - attempt_started,
                        model=model,
                        tool_calls=streamed.tool_calls,
                    )
        except errors.ModelError:
            raise
        except sdk_errors() as exc:
            error = errors.StreamInterrupted("".join(shown)) if shown else translate(exc)
            error.attempts = attempts
            raise error from exc
        raise AssertionError("unreachable: tenacity either returns or raises")
