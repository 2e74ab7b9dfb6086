"""A second model for when the first cannot answer: FALLBACK_MODEL, maybe on its own endpoint.

The fallback steps in only when the primary failed with a passing error after its own retries
(rate limited, 5xx, timeout, unreachable) and before any text was shown. A configuration error
of the primary (401/403: the key; 404: the model name) is not hidden behind the fallback: it is
logged as an error and reported to the user, so the operator finds out.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from bot.engine import errors
from bot.engine.models.completion import ChatModel, Completion, OnDelta
from bot.observability.logs import get_logger

log = get_logger(__name__)

# Worth bypassing the primary for. Not StreamInterrupted: part of the answer is already shown.
PASSING = (errors.ModelBusy, errors.ModelUnavailable)  # ModelTimeout is a ModelUnavailable
CONFIGURATION = (errors.ModelAuthError, errors.ModelNotFound)


class FallbackModel:
    """A `ChatModel` that asks `fallback` for `fallback_model` when `primary` is unavailable."""

    def __init__(self, primary: ChatModel, fallback: ChatModel, fallback_model: str) -> None:
        self._primary = primary
        self._fallback = fallback
        self.fallback_model = fallback_model

    async def close(self) -> None:
        await self._primary.close()
        if self._fallback is not self._primary:
            await self._fallback.close()

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
        started = time.monotonic()
        ask = partial(
            _complete_or_error,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            on_delta=on_delta,
            tools=tools,
        )
        first = await ask(self._primary, model)
        if isinstance(first, Completion):
            return first
        if not isinstance(first, PASSING):
            raise first
        log.warning(
            "fallback_used",
            model=model,
            fallback_model=self.fallback_model,
            error_type=first.error_type,
            primary_attempts=first.attempts,
        )
        second = await ask(self._fallback, self.fallback_model)
        if not isinstance(second, Completion):
            second.attempts = (second.attempts or 0) + (first.attempts or 0)
            raise second
        return replace(
            second,
            attempts=second.attempts + (first.attempts or 0),
            latency_s=time.monotonic() - started,
        )


async def _complete_or_error(
    client: ChatModel,
    model: str,
    *,
    messages: Sequence[dict[str, str]],
    max_tokens: int,
    temperature: float,
    on_delta: OnDelta | None,
    tools: Sequence[dict[str, Any]],
) -> Completion | errors.ModelError:
    """The completion, or the model error it ended with (a configuration error is logged)."""
    try:
        return await client.complete(
            messages,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            on_delta=on_delta,
            tools=tools,
        )
    except errors.ModelError as exc:
        error = exc
    if isinstance(error, CONFIGURATION):
        log.error("model_config_error", model=model, error_type=error.error_type)
    return error
