"""Delivering a finished answer: formatted, split to Telegram's limits, retried, never lost.

If Telegram rejects the formatting, the same text goes out plain. Flood control (429) is
waited out and network errors are retried, a bounded number of times.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot, Message, MessageEntity, ReplyParameters
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot import metrics
from bot.logs import get_logger
from bot.telegram.render import RenderedPart, plain_parts, render

log = get_logger(__name__)

SEND_ATTEMPTS = 5


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetryAfter):
        return retry_after_seconds(exc) + 0.1
    return wait_exponential_jitter(multiplier=0.5, max=10)(state)


def _passing(exc: BaseException) -> bool:
    """Flood control and network trouble pass; a BadRequest (a NetworkError subclass) won't."""
    return isinstance(exc, RetryAfter | TimedOut | NetworkError) and not isinstance(exc, BadRequest)


def _before_sleep(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "telegram_send_retry",
        attempt=state.attempt_number,
        wait_s=round(state.upcoming_sleep, 2),
        error=type(exc).__name__,
    )
    flood = isinstance(exc, RetryAfter)
    metrics.telegram_retry(
        error=type(exc).__name__, wait_s=state.upcoming_sleep, flood_control=flood
    )


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    entities: tuple[MessageEntity, ...] | None = None,
    reply_to: int | None = None,
) -> Message:
    """Send one message, waiting out flood control and retrying network errors."""
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(SEND_ATTEMPTS),
        wait=_wait,
        retry=retry_if_exception(_passing),
        before_sleep=_before_sleep,
        reraise=True,
    ):
        with attempt:
            return await bot.send_message(
                chat_id,
                text,
                entities=entities or None,
                reply_parameters=reply,
                link_preview_options=None,
            )
    raise AssertionError("unreachable: tenacity either returns or raises")


def _is_formatting_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "parse entities" in text or "entit" in text


async def send_answer(
    bot: Bot, chat_id: int, markdown: str, *, reply_to: int | None = None
) -> list[Message]:
    """Send a model's answer as one or more formatted messages, in order, nothing dropped."""
    sent: list[Message] = []
    parts = render(markdown) or [RenderedPart(text) for text in plain_parts(markdown)]
    for index, part in enumerate(parts):
        quote = reply_to if index == 0 else None
        try:
            sent.append(
                await send_text(bot, chat_id, part.text, entities=part.entities, reply_to=quote)
            )
        except BadRequest as exc:
            if not _is_formatting_error(exc):
                raise
            log.warning("formatting_rejected", part=index, error=exc.message)
            for plain_index, plain in enumerate(plain_parts(part.text)):
                sent.append(
                    await send_text(
                        bot, chat_id, plain, reply_to=quote if plain_index == 0 else None
                    )
                )
    return sent
