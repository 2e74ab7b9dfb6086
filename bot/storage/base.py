"""The storage interface the engine depends on, and the plain data it returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol


class StorageError(Exception):
    """The database refused an operation (locked, read-only, full, failing disk).

    Raised instead of the driver's own errors, so that callers need not know the backend.
    The bot keeps running: the next operation tries again.
    """


class TurnState(StrEnum):
    """A turn's life: pending (stored, not answered) -> generated -> answered, or failed."""

    PENDING = "pending"
    GENERATED = "generated"  # the answer is stored but not yet confirmed delivered
    ANSWERED = "answered"
    FAILED = "failed"


@dataclass(frozen=True)
class NewTurn:
    """A user's message as the engine accepts it."""

    chat_id: str
    user_text: str
    source_key: str | None = None  # the channel's unique id of the message, for de-duplication
    reply_to: str | None = None  # the channel's id of the user's message, to answer it
    user_id: str | None = None
    speaker: str | None = None  # shown to the model in group chats ("Alice: ...")
    replaces: int | None = None  # the turn this one regenerates (/retry)
    sent_at: float | None = None  # when the user sent it (stored as created_at; default: now)


@dataclass(frozen=True)
class Turn:
    """One user message and, once it exists, the model's answer to it."""

    id: int
    chat_id: str
    user_text: str
    state: TurnState
    created_at: float  # when the user sent the message (or, if unknown, when it was stored)
    source_key: str | None = None
    reply_to: str | None = None
    user_id: str | None = None
    speaker: str | None = None
    answer: str | None = None
    model: str | None = None
    error_type: str | None = None
    replaces: int | None = None  # the turn this one regenerates; deleted once this is answered

    @property
    def unfinished(self) -> bool:
        """Stored but not yet settled: it still needs an answer, or its answer a delivery."""
        return self.state in (TurnState.PENDING, TurnState.GENERATED)


@dataclass(frozen=True)
class Usage:
    """What one model request cost."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when the model has no configured price
    estimated: bool = False  # True when the provider reported no usage and we counted


@dataclass(frozen=True)
class ChatStats:
    """The per-chat figures /stats shows."""

    messages_in_memory: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    model: str | None  # the chat's chosen model, None for the default


@dataclass(frozen=True)
class UsageTotals:
    """Model requests added up over some period."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # priced requests only

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class UsageRow:
    """One user's or one chat's usage: today, this month, all time."""

    key: str  # a user id or a chat id, as stored
    today: UsageTotals
    month: UsageTotals
    all_time: UsageTotals


class Storage(Protocol):
    """Everything the engine needs from a database; one implementation per backend.

    Every method raises `StorageError` when the database cannot do what was asked.
    """

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    async def add_turn(self, turn: NewTurn, *, now: float) -> Turn | None:
        """Store a pending turn; None when `source_key` was seen before (a re-delivery)."""
        ...

    async def recent_turns(self, chat_id: str, limit: int) -> list[Turn]:
        """The newest `limit` answered turns of a chat, oldest first (an indexed read)."""
        ...

    async def save_answer(self, turn_id: int, answer: str, usage: Usage, *, now: float) -> None:
        """Store the answer and its usage (turn -> generated, chat counters) atomically."""
        ...

    async def touch_turn(self, turn_id: int, *, now: float) -> None:
        """A write that changes nothing but the turn's updated_at: proves writes succeed."""
        ...

    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        """The answer was delivered; the turn it `replaces`, if any, goes (atomically)."""
        ...

    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        """An unfinished turn failed for good; a turn already settled is left as it is."""
        ...

    async def unfinished_turns(self) -> list[Turn]:
        """Turns left pending or generated (by a crash), oldest first."""
        ...

    async def get_turn(self, turn_id: int) -> Turn | None: ...
    async def last_finished_turn(self, chat_id: str) -> Turn | None:
        """The chat's newest answered or failed turn (what /retry regenerates)."""
        ...

    async def clear_chat(self, chat_id: str) -> int:
        """Forget a chat's conversation (not its settings); returns how many turns went."""
        ...

    async def chat_model(self, chat_id: str) -> str | None: ...
    async def set_chat_model(self, chat_id: str, model: str | None) -> None: ...
    async def chat_stats(self, chat_id: str) -> ChatStats: ...

    # Accounting (issue 5): read from the usage table, which survives /clear.
    async def usage_totals(self, *, since: float, user_id: str | None = None) -> UsageTotals:
        """Everyone's usage (or one user's) from `since` on."""
        ...

    async def usage_by(
        self, column: Literal["user_id", "chat_id"], *, day: float, month: float, limit: int
    ) -> list[UsageRow]:
        """Usage per user or per chat since `day`, since `month` and ever; the costliest first."""
        ...
