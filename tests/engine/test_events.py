"""The engine's events: what the model client reports to the events it is given.

Driven through the fake OpenAI server; the Prometheus side is specified over HTTP in
tests/observability/test_metrics.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.engine import errors
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models.client import LLMClient, RetryPolicy
from tests.fakes.openai import Error, FakeOpenAI

MESSAGES = [{"role": "user", "content": "hi"}]


class Recorded:
    """An `EngineEvents` that keeps every call, as (name, keyword arguments)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def model_answered(self, **values: Any) -> None:
        self.calls.append(("model_answered", values))

    def model_retried(self, **values: Any) -> None:
        self.calls.append(("model_retried", values))

    def answer_delivered(self) -> None:
        self.calls.append(("answer_delivered", {}))

    def turn_failed(self, **values: Any) -> None:
        self.calls.append(("turn_failed", values))

    def tool_called(self, **values: Any) -> None:
        self.calls.append(("tool_called", values))


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


def client(model: FakeOpenAI, events: EngineEvents, max_retries: int = 2) -> LLMClient:
    retry = RetryPolicy(max_retries=max_retries, max_seconds=5, initial_wait=0.01, max_wait=0.01)
    return LLMClient(
        api_key=model.api_key, base_url=model.base_url, timeout=5, retry=retry, events=events
    )


class TestModelClientEvents:
    async def test_each_retry_is_reported_with_its_kind(self, model: FakeOpenAI) -> None:
        """Two passing failures then an answer: two model_retried events, by error kind."""
        events = Recorded()
        model.script(Error(500, "oops"), Error(429, "slow down"))
        llm = client(model, events)
        try:
            done = await llm.complete(MESSAGES, model="gpt-test", max_tokens=10, temperature=0)
        finally:
            await llm.close()
        assert done.attempts == 3
        assert events.calls == [
            ("model_retried", {"error_type": "unavailable"}),
            ("model_retried", {"error_type": "rate_limited"}),
        ]

    async def test_a_failure_not_retried_reports_nothing(self, model: FakeOpenAI) -> None:
        """A rejected key is not retried: no event (the turn's failure is the engine's)."""
        events = Recorded()
        model.script(Error(401, "Incorrect API key provided", code="invalid_api_key"))
        llm = client(model, events)
        try:
            with pytest.raises(errors.ModelAuthError):
                await llm.complete(MESSAGES, model="gpt-test", max_tokens=10, temperature=0)
        finally:
            await llm.close()
        assert events.calls == []

    async def test_without_events_nothing_is_reported(self, model: FakeOpenAI) -> None:
        """The default events report nowhere, and a retried request still answers."""
        model.script(Error(500, "oops"))
        llm = client(model, NO_EVENTS)
        try:
            done = await llm.complete(MESSAGES, model="gpt-test", max_tokens=10, temperature=0)
        finally:
            await llm.close()
        assert done.text and done.attempts == 2
