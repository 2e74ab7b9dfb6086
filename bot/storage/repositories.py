"""What the engine needs from a database, one narrow Protocol per aggregate.

Each engine component depends only on the repositories it uses. A backend (SQLite today)
implements every Protocol and hands them over as one `Stores`; nothing above this module knows
which backend it is. Every method raises `StorageError` when the database cannot do what was
asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.storage.coordination import ChatLeases, UpdateInbox
from bot.storage.records import (
    Attachment,
    Calibration,
    ChatSettings,
    ChatStats,
    ConversationRecord,
    NewTurn,
    Summary,
    Turn,
    Usage,
    UsageRow,
    UsageTotals,
)


class TurnRepository(Protocol):
    """A chat's turns: a user's message and the model's answer, through their whole life."""

    async def add(self, turn: NewTurn, *, now: float) -> Turn | None:
        """Store a pending turn; None when `source_key` was seen before (a re-delivery)."""
        ...

    async def get(self, turn_id: int) -> Turn | None: ...

    async def recent(self, chat_id: str, limit: int) -> list[Turn]:
        """The newest `limit` answered turns of a chat, oldest first (an indexed read)."""
        ...

    async def recent_with_attachments(
        self, chat_id: str, limit: int, *, also: Sequence[int] = ()
    ) -> tuple[list[Turn], dict[int, list[Attachment]]]:
        """`recent`, and the attachments of those turns and of the turns `also` (as
        `AttachmentRepository.of_turns`), read together: one trip to SQLite's thread
        instead of two for the context of an answer."""
        ...

    async def answered_page(self, chat_id: str, *, after: int, limit: int) -> list[Turn]:
        """At most `limit` answered turns of a chat with an id above `after`, oldest first:
        one page of /export, read through an index whatever the chat's length."""
        ...

    async def count_answered(self, chat_id: str) -> int:
        """How many answered turns a chat has (an indexed count)."""
        ...

    async def delete_settled_before(self, cutoff: float, *, limit: int) -> int:
        """Delete at most `limit` answered or failed turns sent before `cutoff` (Unix time),
        oldest first, in one short write; how many went. Unfinished turns stay (recovery
        settles them). Usage rows are not touched: budgets and /usage keep their figures."""
        ...

    async def last_finished(self, chat_id: str) -> Turn | None:
        """The chat's newest answered or failed turn (what /retry regenerates)."""
        ...

    async def unfinished(self) -> list[Turn]:
        """Turns left pending or generated (by a crash), oldest first."""
        ...

    async def save_answer(
        self, turn_id: int, answer: str, usage: Usage, *, now: float, tool_calls: str | None = None
    ) -> None:
        """Store the answer, its usage (turn -> generated, chat counters) and its tool calls
        (`tool_calls`: compact JSON, or None) atomically."""
        ...

    async def touch(self, turn_id: int, *, now: float) -> None:
        """A write that changes nothing but the turn's updated_at: proves writes succeed."""
        ...

    async def mark_answered(self, turn_id: int, *, now: float) -> None:
        """The answer was delivered; the turn it `replaces`, if any, goes (atomically)."""
        ...

    async def mark_failed(self, turn_id: int, error_type: str, *, now: float) -> None:
        """An unfinished turn failed for good; a turn already settled is left as it is."""
        ...

    async def clear_chat(self, chat_id: str) -> int:
        """Forget a chat's conversation and its summary (not its settings); returns how many
        turns went. Unfinished turns stay."""
        ...


class ChatRepository(Protocol):
    """A chat's own record: what it chose (model, persona, system prompt) and its counters."""

    async def settings(self, chat_id: str) -> ChatSettings: ...

    async def set_model(self, chat_id: str, model: str | None) -> None: ...

    async def set_persona(self, chat_id: str, persona: str | None, *, keep_model: bool) -> None:
        """Choose a persona (None: none) and drop any custom system prompt; unless
        `keep_model`, also drop the chat's /model choice so the persona's model applies."""
        ...

    async def set_system_prompt(self, chat_id: str, prompt: str | None) -> None: ...

    async def stats(self, chat_id: str) -> ChatStats:
        """The figures /stats shows (turns in memory, the chat's request counters, its model)."""
        ...


class UsageRepository(Protocol):
    """Model requests accounted for; survives /clear (budgets and /usage read it)."""

    async def record(
        self, chat_id: str, usage: Usage, *, now: float, user_id: str | None = None
    ) -> None:
        """Account for a model request that belongs to no turn (a summary), to the chat and,
        when given, to the user (their budgets count it)."""
        ...

    async def totals(self, *, since: float, user_id: str | None = None) -> UsageTotals:
        """Everyone's usage (or one user's) from `since` on."""
        ...

    async def by(
        self, column: Literal["user_id", "chat_id"], *, day: float, month: float, limit: int
    ) -> list[UsageRow]:
        """Usage per user or per chat since `day`, since `month` and ever; the costliest first."""
        ...


class SummaryRepository(Protocol):
    """A chat's rolling summary of its older turns."""

    async def get(self, chat_id: str) -> Summary | None: ...

    async def save(
        self, chat_id: str, summary: Summary, *, previous: int | None, now: float
    ) -> bool:
        """Store a summary if the chat's summary still covers up to `previous` (None: there
        was none) and the turn it now ends at is still stored; False when it was not saved
        (a /clear happened meanwhile)."""
        ...

    async def delete_updated_before(self, cutoff: float) -> int:
        """Delete the summaries last updated before `cutoff` (retention: a summary keeps
        what it folded in); how many went."""
        ...


class CalibrationRepository(Protocol):
    """Per-model token calibrations, learnt from the usage providers report."""

    async def load(self) -> dict[str, Calibration]: ...

    async def save(self, model: str, calibration: Calibration, *, now: float) -> None: ...


class ConversationRepository(Protocol):
    """Which of a chat's (or topic's) numbered conversations is current, and their titles.

    A chat is named by its base key; storage never spells conversation keys (the engine's
    identity module does). A chat without any row has only conversation 1, current."""

    async def current(self, base_key: str) -> int:
        """The number of the chat's current conversation (1 when it never changed)."""
        ...

    async def create(self, base_key: str, *, now: float) -> int:
        """Start the chat's next conversation and make it current (atomically); its number.
        The conversation left gets its row if it had none, so /chats lists it."""
        ...

    async def switch(self, base_key: str, number: int, *, now: float) -> bool:
        """Make a listed conversation (or number 1) current; False when there is no such one."""
        ...

    async def get(self, base_key: str, number: int) -> ConversationRecord | None: ...

    async def recent(self, base_key: str, limit: int) -> list[ConversationRecord]:
        """At most `limit` conversations of the chat, the most recently used first."""
        ...

    async def set_title(self, base_key: str, number: int, title: str, *, now: float) -> None:
        """Store a conversation's title (its row is made if it had none)."""
        ...

    async def forget_titles_before(self, cutoff: float) -> int:
        """Drop the titles of conversations started before `cutoff` (a title is made from the
        conversation's first question, which retention deletes); how many were dropped."""
        ...


class AttachmentRepository(Protocol):
    """The files sent with a turn (migration 0007); they go when their turn goes."""

    async def add(self, turn_id: int, attachments: Sequence[Attachment]) -> None:
        """Store a turn's attachments, after those it has (an album grows one by one)."""
        ...

    async def of_turns(self, turn_ids: Sequence[int]) -> dict[int, list[Attachment]]:
        """The attachments of these turns, by turn, in the order they were sent."""
        ...

    async def derive(
        self,
        attachment_id: int,
        *,
        text: str | None,
        note: str | None,
        data: bytes | None,
        question: str | None = None,
    ) -> None:
        """Keep what was derived from an attachment (a transcript, a document's text, an
        image's bytes) so it is not derived again; with `question`, the turn's question
        becomes it in the same transaction (see `set_question`)."""
        ...

    async def copy(self, from_turn: int, to_turn: int) -> None:
        """Give `to_turn` the attachments of `from_turn` (/retry asks the same again)."""
        ...

    async def set_question(self, attachment_id: int, question: str) -> None:
        """The question of the attachment's turn, now with what was derived from it (a
        transcript, a document's text), as the model, summaries and /export read it."""
        ...


class ChatMediaRepository(Protocol):
    """A chat's /voice choice."""

    async def voice_replies(self, chat_id: str) -> bool: ...

    async def set_voice_replies(self, chat_id: str, on: bool) -> None: ...


class HealthCheck(Protocol):
    """Whether the database answers at all (for /healthz)."""

    async def ping(self) -> None: ...


@dataclass(frozen=True)
class Stores:
    """Every repository of one open database, as the composition root hands them out."""

    turns: TurnRepository
    chats: ChatRepository
    usage: UsageRepository
    summaries: SummaryRepository
    calibrations: CalibrationRepository
    conversations: ConversationRepository
    health: HealthCheck
    attachments: AttachmentRepository
    chat_media: ChatMediaRepository
    inbox: UpdateInbox | None = None  # PostgreSQL only (several replicas)
    leases: ChatLeases | None = None  # PostgreSQL only (several replicas)
