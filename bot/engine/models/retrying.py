"""The retry policy of model calls: which failures are retried, how long to wait, when to stop.

Retries are ours (tenacity), not the SDK's, so that each attempt is logged and counted, the
total time is bounded, and a stream that has already shown text is never silently restarted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from bot.engine.events import EngineEvents
from bot.engine.models.translation import is_transient, translate
from bot.observability.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_seconds: float = 30.0
    initial_wait: float = 0.5
    max_wait: float = 8.0


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def retrying(
    policy: RetryPolicy, model: str, shown: list[str], events: EngineEvents
) -> AsyncRetrying:
    """Retries of passing failures until text was shown (`shown`), each logged and counted.

    The wait is exponential with jitter, or what the provider asked for if that is longer;
    attempts stop after `policy.max_retries` retries or before `policy.max_seconds` passed.
    """

    def wait(state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait)(
            state
        )
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc) if exc else None
        return max(backoff, asked) if asked is not None else backoff

    def retryable(exc: BaseException) -> bool:
        return is_transient(exc) and not shown

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        error_type = translate(exc).error_type if exc else None
        log.warning(
            "model_retry",
            model=model,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 2),
            error_type=error_type,
        )
        events.model_retried(error_type=error_type or "")

    return AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries + 1) | stop_before_delay(policy.max_seconds),
        wait=wait,
        retry=retry_if_exception(retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
