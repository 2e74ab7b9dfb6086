"""Our own error types. SDK errors are translated into these at the edge (models/translation.py).

Each carries a stable `error_type` for logs and metrics and a short, human `user_message`;
the exception text itself never reaches a user.
"""

from __future__ import annotations

from bot.storage.errors import StorageError


class BotError(Exception):
    """Base of every error the engine raises on purpose."""

    error_type = "internal"
    user_message = "Something went wrong on my side. Please try again."


class ModelError(BotError):
    """The model could not produce an answer."""

    error_type = "model_error"
    user_message = "The model could not answer just now. Please try again."
    attempts: int | None = None  # how many requests were made before giving up


class ModelBusy(ModelError):
    """Rate limited by the provider, still after retrying."""

    error_type = "rate_limited"
    user_message = "The model is busy right now, please try again in a minute."


class ModelUnavailable(ModelError):
    """The provider answered 5xx or could not be reached, still after retrying."""

    error_type = "unavailable"
    user_message = "I can't reach the model right now. Please try again in a few minutes."


class ModelTimeout(ModelUnavailable):
    """The provider took too long, still after retrying."""

    error_type = "timeout"
    user_message = "The model took too long to answer. Please try again."


class TurnTimedOut(ModelError):
    """Generating the answer took longer than MODEL_TURN_TIMEOUT; generation was stopped."""

    error_type = "turn_timeout"
    user_message = (
        "Writing this answer took too long, so I stopped. Please try again, perhaps asking for "
        "a shorter answer."
    )


class ModelAuthError(ModelError):
    """401/403: the key is wrong or lacks access. Retrying cannot help."""

    error_type = "auth"
    user_message = (
        "The bot can't use the model: its access was refused. The bot's operator needs to "
        "check the API key."
    )


class ModelNotFound(ModelError):
    """404: the model name is unknown to the provider."""

    error_type = "model_not_found"
    user_message = "That model isn't available from the provider. Pick another one with /model."


class ContextTooLong(ModelError):
    """The conversation does not fit the model's context, even after trimming harder."""

    error_type = "context_length"
    user_message = (
        "This conversation has grown too long for the model. Send /clear to start afresh."
    )


class ModelRejected(ModelError):
    """Any other 4xx: the request was refused as it was."""

    error_type = "bad_request"
    user_message = "The model refused that message. Try rephrasing it."


class StreamInterrupted(ModelError):
    """The answer broke off mid-way; `partial` holds the text received before the cut."""

    error_type = "stream_interrupted"
    user_message = "The answer was cut off mid-way. Please try again."

    def __init__(self, partial: str) -> None:
        super().__init__("stream interrupted")
        self.partial = partial


class UnknownModel(BotError):
    """A user asked for a model that is not in the configured list."""

    error_type = "unknown_model"

    def __init__(self, name: str, choices: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.choices = choices


class EmptyAnswer(ModelError):
    """The model finished without writing anything."""

    error_type = "empty_answer"
    user_message = "The model returned an empty answer. Please try again or rephrase."


class StorageUnavailable(BotError):
    """The database could not store or read what was needed (locked, read-only, full disk)."""

    error_type = "storage"
    user_message = (
        "I can't save messages right now (a storage problem on my side). "
        "Please send yours again in a few minutes."
    )


class Expired(BotError):
    """A message waited too long (the bot was down) to be answered now."""

    error_type = "expired"
    user_message = (
        "Sorry, I couldn't answer this message in time (I was offline). "
        "Please send it again if you still need an answer."
    )


class Undeliverable(BotError):
    """The channel refused the answer for good (the bot was blocked or removed from the chat)."""

    error_type = "undeliverable"


class NothingToRetry(BotError):
    """/retry in a chat that has no answer to regenerate."""

    error_type = "nothing_to_retry"
    user_message = "There's nothing to retry yet: ask me something first."


def user_message(error: BaseException | None) -> str:
    """The short text a user sees for any error; never the error's own text."""
    if isinstance(error, BotError):
        return error.user_message
    if isinstance(error, StorageError):
        return StorageUnavailable.user_message
    return BotError.user_message


class OverBudget(ModelError):
    """A spending limit is used up (checked again just before the model is asked)."""

    error_type = "over_budget"

    def __init__(self, user_message: str) -> None:
        super().__init__("over budget")
        self.user_message = user_message
