"""What the engine reports as it works, for whoever counts it (metrics), as plain values.

The engine owns this interface and receives an implementation (constructor parameter,
`NO_EVENTS` by default); the composition root binds it to Prometheus
(`bot.observability.metrics.PrometheusEvents`), so observability needs nothing of the engine.
Log lines are not events: the engine logs for itself.
"""

from __future__ import annotations

from typing import Protocol


class EngineEvents(Protocol):
    """The engine calls a method once per occurrence, with plain values; an implementation
    must not raise (counting is never worth a failed turn) nor block (it runs inline)."""

    def model_answered(
        self,
        *,
        model: str,
        latency_s: float,
        ttft_s: float | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
    ) -> None:
        """A model request succeeded: `latency_s` from the request to the last token, retries
        included; `ttft_s` to the first token of the successful attempt (None: no text came);
        tokens as the provider reported them or as estimated; `cost_usd` None when unpriced."""

    def model_retried(self, *, error_type: str) -> None:
        """A model request is about to be retried after a passing failure of this kind."""

    def answer_delivered(self) -> None:
        """The channel showed a freshly generated answer to the chat."""

    def turn_failed(self, *, error_type: str) -> None:
        """A turn could not be answered, for good, with this error kind."""

    def tool_called(self, *, tool: str, outcome: str, duration_s: float) -> None:
        """A tool call ended ("server:tool", or "unknown"), with this outcome (ok, error, ...)."""


class NoEvents:
    """Reports nowhere: the default, for specs and for one-off clients (`python -m bot check`)."""

    def model_answered(
        self,
        *,
        model: str,
        latency_s: float,
        ttft_s: float | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
    ) -> None:
        pass

    def model_retried(self, *, error_type: str) -> None:
        pass

    def answer_delivered(self) -> None:
        pass

    def turn_failed(self, *, error_type: str) -> None:
        pass

    def tool_called(self, *, tool: str, outcome: str, duration_s: float) -> None:
        pass


NO_EVENTS: EngineEvents = NoEvents()
