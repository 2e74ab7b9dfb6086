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


@dataclass(frozen=True)
class ChatSettings:
    """What a chat chose: a model (/model), a persona (/persona), a system prompt (/system)."""

    model: str | None = None
    persona: str | None = None
    system_prompt: str | None = None


@dataclass(frozen=True)
class Summary:
    """A chat's rolling summary: every answered turn up to `covers_to` folded into `text`."""

    text: str
    covers_to: int  # the id of the newest turn it covers


@dataclass(frozen=True)
class Calibration:
    """How many UTF-8 bytes one token of a model stands for, learnt from `samples` requests."""

    bytes_per_token: float
    samples: int


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

    # Conversation controls (issue 9): personas, system prompts, summaries, token calibration.
    async def chat_settings(self, chat_id: str) -> ChatSettings: ...
    async def set_chat_persona(
        self, chat_id: str, persona: str | None, *, keep_model: bool
    ) -> None:
        """Choose a persona (None: none) and drop any custom system prompt; unless
        `keep_model`, also drop the chat's /model choice so the persona's model applies."""
        ...

    async def set_chat_system_prompt(self, chat_id: str, prompt: str | None) -> None: ...
    async def answered_turns(self, chat_id: str) -> list[Turn]:
        """Every answered turn of a chat, oldest first (for /export)."""
        ...

    async def chat_summary(self, chat_id: str) -> Summary | None: ...
    async def save_summary(
        self, chat_id: str, summary: Summary, *, previous: int | None, now: float
    ) -> bool:
        """Store a summary if the chat's summary still covers up to `previous` (None: there
        was none) and the turn it now ends at is still stored; False when it was not saved
        (a /clear happened meanwhile)."""
        ...

    async def record_usage(self, chat_id: str, usage: Usage, *, now: float) -> None:
        """Account for a model request that belongs to no turn (a summary)."""
        ...

    async def token_calibrations(self) -> dict[str, Calibration]: ...
    async def save_token_calibration(
        self, model: str, calibration: Calibration, *, now: float
    ) -> None: ...
