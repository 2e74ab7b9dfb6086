"""Delivering a finished answer: formatted, split to Telegram's limits, retried, never lost.

If Telegram rejects the formatting, the same text goes out plain. Flood control (429) is
waited out and network errors are retried, a bounded number of times. A flood-control wait
longer than `max_wait` (FLOOD_WAIT_MAX) is not waited out: the RetryAfter is raised at once, and
the caller keeps the answer for later delivery (see outcome.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, Message, MessageEntity, ReplyParameters
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.observability import metrics
from bot.observability.logs import get_logger
from bot.telegram.format.render import RenderedPart, plain_parts, render

log = get_logger(__name__)

SEND_ATTEMPTS = 5
T = TypeVar("T")


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RetryAfter):
        return retry_after_seconds(exc) + 0.1
    return wait_exponential_jitter(multiplier=0.5, max=10)(state)


def _passing(exc: BaseException, max_wait: float) -> bool:
    """Flood control up to `max_wait` and network trouble pass; a BadRequest (a NetworkError
    subclass) won't."""
    if isinstance(exc, RetryAfter):
        return retry_after_seconds(exc) <= max_wait
    return isinstance(exc, TimedOut | NetworkError) and not isinstance(exc, BadRequest)


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


async def with_retries(call: Callable[[], Awaitable[T]], *, max_wait: float) -> T:
    """Run one Bot API call, waiting out flood control (up to `max_wait` seconds at a time)
    and retrying network errors."""
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(SEND_ATTEMPTS),
            wait=_wait,
            retry=retry_if_exception(lambda exc: _passing(exc, max_wait)),
            before_sleep=_before_sleep,
            reraise=True,
        ):
            with attempt:
                return await call()
    except RetryAfter as exc:
        if (seconds := retry_after_seconds(exc)) > max_wait:
            log.warning("flood_wait_too_long", retry_after_s=seconds, max_s=max_wait)
        raise
    raise AssertionError("unreachable: tenacity either returns or raises")


def reply_parameters(reply_to: int | None) -> ReplyParameters | None:
    """Quote ``reply_to`` if it still exists; send anyway if it was deleted."""
    if reply_to is None:
        return None
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    entities: tuple[MessageEntity, ...] | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
    max_wait: float,
) -> Message:
    """Send one message (into topic `thread_id`, if any), waiting out flood control and
    retrying network errors."""
    return await with_retries(
        lambda: bot.send_message(
            chat_id,
            text,
            entities=entities or None,
            reply_parameters=reply_parameters(reply_to),
            link_preview_options=None,
            message_thread_id=thread_id,
        ),
        max_wait=max_wait,
    )


def is_formatting_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "parse entities" in text or "entit" in text


def is_not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing: the message already shows it."""
    return "not modified" in exc.message.lower()


async def send_part(
    bot: Bot,
    chat_id: int,
    part: RenderedPart,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
    max_wait: float,
) -> list[Message]:
    """Send one rendered part; if Telegram rejects its formatting, the same text plain."""
    try:
        return [
            await send_text(
                bot,
                chat_id,
                part.text,
                entities=part.entities,
                reply_to=reply_to,
                thread_id=thread_id,
                max_wait=max_wait,
            )
        ]
    except BadRequest as exc:
        if not is_formatting_error(exc):
            raise
        log.warning("formatting_rejected", error=exc.message)
    return [
        await send_text(
            bot,
            chat_id,
            plain,
            reply_to=reply_to if index == 0 else None,
            thread_id=thread_id,
            max_wait=max_wait,
        )
        for index, plain in enumerate(plain_parts(part.text))
    ]


async def edit_part(
    bot: Bot, chat_id: int, message_id: int, part: RenderedPart, *, max_wait: float
) -> bool:
    """Make a sent message show ``part`` (plain if its formatting is rejected).

    "Message is not modified" counts as done. Returns False when the message can no longer
    be edited (deleted, too old), so the caller can send the part anew.
    """

    async def edit(entities: tuple[MessageEntity, ...]) -> None:
        await with_retries(
            lambda: bot.edit_message_text(
                part.text,
                chat_id,
                message_id,
                entities=entities or None,
                link_preview_options=None,
            ),
            max_wait=max_wait,
        )

    try:
        try:
            await edit(part.entities)
        except BadRequest as exc:
            if not (part.entities and is_formatting_error(exc)):
                raise
            log.warning("formatting_rejected", error=exc.message, edit=True)
            await edit(())
    except BadRequest as exc:
        if is_not_modified(exc):
            return True
        log.warning("final_edit_failed", error=exc.message)
        return False
    return True


async def send_answer(
    bot: Bot,
    chat_id: int,
    markdown: str,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
    max_wait: float,
) -> list[Message]:
    """Send a model's answer as one or more formatted messages, in order, nothing dropped,
    all into topic `thread_id` (None: the chat itself, or a forum's General topic)."""
    sent: list[Message] = []
    parts = render(markdown) or [RenderedPart(text) for text in plain_parts(markdown)]
    for index, part in enumerate(parts):
        quote = reply_to if index == 0 else None
        sent.extend(
            await send_part(
                bot, chat_id, part, reply_to=quote, thread_id=thread_id, max_wait=max_wait
            )
        )
    return sent
