"""SDK failures translated into our error types, at one edge.

Which failures are passing (worth a retry) and which our `ModelError` each one becomes, so that
the rest of the bot sees only our types, each with its own `user_message`.
"""

from __future__ import annotations

import functools

import aiohttp

from bot.engine import errors

_CONTEXT_MARKERS = (
    "context_length",
    "context length",
    "maximum context",
    "context window",
    "exceed_context_size",
    "exceeds the available context",
    "too many tokens",
    "prompt is too long",
    "reduce the length",
)


def is_context_error(exc: BaseException) -> bool:
    """Whether a 400 says the prompt does not fit the model's context (providers word it apart)."""
    import openai  # noqa: PLC0415 - on a failure only (sdk.py)

    if not isinstance(exc, openai.BadRequestError):
        return False
    body = exc.body if isinstance(exc.body, dict) else {}
    text = f"{exc.code or ''} {body.get('type', '')} {exc.message} {error_message(exc.body)}"
    return any(marker in text.lower() for marker in _CONTEXT_MARKERS)


def error_message(body: object) -> str:
    """The message of an error body in any provider's shape: OpenAI's and Anthropic's
    `{"error": {"message": ...}}`, vLLM's flat `{"message": ...}`, Gemini's list of those."""
    if isinstance(body, list) and body:
        return error_message(body[0])
    if not isinstance(body, dict):
        return ""
    inner = body.get("error")
    if isinstance(inner, dict | list):
        return error_message(inner)
    message = body.get("message")
    return message if isinstance(message, str) else ""


def is_transient(exc: BaseException) -> bool:
    """Whether the failure may pass by itself: rate limited, 5xx, timeout, connection lost."""
    import httpx2  # noqa: PLC0415 - on a failure only (sdk.py)
    import openai  # noqa: PLC0415

    return isinstance(
        exc,
        openai.RateLimitError
        | openai.InternalServerError  # every 5xx
        | openai.APIConnectionError  # timeouts included
        | httpx2.TransportError,  # a connection dropped while a stream is read
    )


@functools.cache
def _translation() -> list[tuple[tuple[type[BaseException], ...], type[errors.ModelError]]]:
    """SDK exception -> our error, first match wins (a timeout is also a connection error)."""
    import httpx2  # noqa: PLC0415 - on a failure only (sdk.py)
    import openai  # noqa: PLC0415

    return [
        ((openai.RateLimitError,), errors.ModelBusy),
        ((openai.APITimeoutError,), errors.ModelTimeout),
        (
            (openai.APIConnectionError, openai.InternalServerError, httpx2.HTTPError),
            errors.ModelUnavailable,
        ),
        ((openai.AuthenticationError, openai.PermissionDeniedError), errors.ModelAuthError),
        ((openai.NotFoundError,), errors.ModelNotFound),
        ((openai.APIStatusError,), errors.ModelRejected),
    ]


def translate(exc: BaseException) -> errors.ModelError:
    """Our error type for an SDK failure (after retries gave up)."""
    if is_context_error(exc):
        return errors.ContextTooLong()
    if _connection_lost(exc):
        return errors.ModelUnavailable()
    for kinds, ours in _translation():
        if isinstance(exc, kinds):
            return ours()
    return errors.ModelError()


def _connection_lost(exc: BaseException) -> bool:
    """A refused or dropped connection under the SDK's aiohttp transport, which reports every
    aiohttp connection error as a connect *timeout* (its map takes the first match): found by
    the aiohttp error it was raised from, which is not a timeout."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ServerTimeoutError | TimeoutError):
            return False
        if isinstance(cause, aiohttp.ClientConnectionError):
            return True
        cause = cause.__cause__
    return False
