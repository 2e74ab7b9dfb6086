"""How a turn ended, logged as one `reply_finished` event (answered, recovered or failed).

One place for the event's fields, so that an answer delivered now, an answer delivered after
a crash and a failure are reported alike.
"""

from __future__ import annotations

from bot.engine import errors
from bot.engine.models.completion import Completion
from bot.observability.logs import get_logger
from bot.storage.records import Turn, Usage

log = get_logger(__name__)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def answered(turn: Turn, usage: Usage, completion: Completion) -> None:
    """The answer generated for `turn` was shown to the user."""
    log.info(
        "reply_finished",
        outcome="answered",
        chat_key=turn.chat_id,
        turn_id=turn.id,
        model=usage.model,
        latency_ms=_ms(completion.latency_s),
        ttft_ms=_ms(completion.ttft_s),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        usage_estimated=usage.estimated,
        cost_usd=usage.cost_usd,
        attempts=completion.attempts,
    )


def answered_late(turn: Turn) -> None:
    """A stored answer (from before a crash or a failed delivery) was shown to the user."""
    log.info(
        "reply_finished",
        outcome="answered",
        chat_key=turn.chat_id,
        turn_id=turn.id,
        model=turn.model,
        recovered=True,
    )


def failed(
    turn: Turn, error: errors.BotError, *, model: str | None, latency_s: float | None
) -> None:
    """`turn` could not be answered, for the reason `error` names."""
    log.warning(
        "reply_finished",
        outcome="failed",
        chat_key=turn.chat_id,
        turn_id=turn.id,
        model=model,
        latency_ms=_ms(latency_s),
        error_type=error.error_type,
        attempts=error.attempts if isinstance(error, errors.ModelError) else None,
    )


def stopped(turn: Turn, completion: Completion) -> None:
    """The user stopped `turn`'s answer: the model request was cancelled, the part kept."""
    log.info(
        "answer_stopped",
        chat_key=turn.chat_id,
        turn_id=turn.id,
        kept_chars=len(completion.text),
        latency_ms=_ms(completion.latency_s),
    )
