"""Prometheus metrics: the metric objects, and one-line helpers for the few places that count.

A leaf: it knows nothing of the engine. The engine reports through its own events interface
(`bot.engine.events.EngineEvents`), which `PrometheusEvents` satisfies structurally and the
composition root binds; the channels call the helpers here. Everything is registered on
prometheus-client's default registry, which also carries the process metrics (memory, CPU,
open files); `/metrics` serves it. Names are part of the operator interface, like log events:
docs/operations.md lists them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

P = ParamSpec("P")
R = TypeVar("R")

# The `_created` timestamp series double the output and no dashboard uses them.
disable_created_metrics()

# Model answers take from well under a second (a local model) to minutes (a long answer).
_LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
_TTFT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)

TOOL_CALLS = Counter(
    "llmbot_tool_calls",
    "Tool calls the model made, by tool (server:tool, or unknown) and outcome.",
    ["tool", "outcome"],
)
TOOL_LATENCY = Histogram(
    "llmbot_tool_call_seconds",
    "How long tool calls took, by tool.",
    ["tool"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
UPDATES = Counter(
    "llmbot_updates_received",
    "Updates received from the chat channel, by type.",
    ["type"],
)
ANSWERS = Counter(
    "llmbot_answers_sent",
    "Model answers delivered to a chat.",
)
ERRORS = Counter(
    "llmbot_errors",
    "Failures by type: a turn that could not be answered (its error_type), "
    "or an exception that reached the error handler (its class name).",
    ["type"],
)
MODEL_LATENCY = Histogram(
    "llmbot_model_latency_seconds",
    "Time from sending a request to the model to its last token, retries included.",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)
MODEL_TTFT = Histogram(
    "llmbot_model_ttft_seconds",
    "Time to the first token of the successful attempt.",
    ["model"],
    buckets=_TTFT_BUCKETS,
)
TOKENS = Counter(
    "llmbot_tokens",
    "Tokens used, by model and kind (prompt = in, completion = out); estimated when the "
    "provider reports no usage.",
    ["model", "kind"],
)
COST = Counter(
    "llmbot_cost_usd",
    "Estimated cost in US dollars (only models with a price in MODEL_PRICES).",
    ["model"],
)
IN_FLIGHT = Gauge(
    "llmbot_answers_in_flight",
    "Answers being generated or delivered right now.",
)
MODEL_RETRIES = Counter(
    "llmbot_model_retries",
    "Retried model requests, by the kind of failure that was retried.",
    ["error_type"],
)
TELEGRAM_RETRIES = Counter(
    "llmbot_telegram_retries",
    "Retried Telegram sends, by error (RetryAfter is flood control).",
    ["error"],
)
FLOOD_WAITS = Counter(
    "llmbot_flood_waits",
    "Times Telegram's flood control (429 Retry-After) made the bot wait.",
)
FLOOD_WAIT_SECONDS = Counter(
    "llmbot_flood_wait_seconds",
    "Seconds spent waiting out Telegram's flood control.",
)


class PrometheusEvents:
    """The engine's events (`bot.engine.events.EngineEvents`) counted on the metrics above."""

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
        """One successful model request: its latency, time to first token, tokens, cost."""
        MODEL_LATENCY.labels(model=model).observe(latency_s)
        if ttft_s is not None:
            MODEL_TTFT.labels(model=model).observe(ttft_s)
        TOKENS.labels(model=model, kind="prompt").inc(prompt_tokens)
        TOKENS.labels(model=model, kind="completion").inc(completion_tokens)
        if cost_usd is not None:
            COST.labels(model=model).inc(cost_usd)

    def model_retried(self, *, error_type: str) -> None:
        MODEL_RETRIES.labels(error_type=error_type).inc()

    def answer_delivered(self) -> None:
        ANSWERS.inc()

    def turn_failed(self, *, error_type: str) -> None:
        ERRORS.labels(type=error_type).inc()

    def tool_called(self, *, tool: str, outcome: str, duration_s: float) -> None:
        TOOL_CALLS.labels(tool=tool, outcome=outcome).inc()
        TOOL_LATENCY.labels(tool=tool).observe(duration_s)


def telegram_retry(*, error: str, wait_s: float, flood_control: bool) -> None:
    """Record one retried Telegram send, and the wait when flood control imposed it."""
    TELEGRAM_RETRIES.labels(error=error).inc()
    if flood_control:
        FLOOD_WAITS.inc()
        FLOOD_WAIT_SECONDS.inc(wait_s)


def in_flight(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a coroutine function: it counts in `llmbot_answers_in_flight` while it runs."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with IN_FLIGHT.track_inprogress():
            return await fn(*args, **kwargs)

    return wrapper
