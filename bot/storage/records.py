"""The plain data that storage takes and returns: what every layer may import."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TurnState(StrEnum):
    """A turn's life: pending (stored, not answered) -> generated -> answered, or failed."""

    PENDING = "pending"
    GENERATED = "generated"  # the answer is stored but not yet confirmed delivered
    ANSWERED = "answered"
    FAILED = "failed"


@dataclass(frozen=True)
class Quote:
    """The message a user's question replies to (or the part of it they quoted): data the
    model reads as context, never instructions. Bounded and cleaned before it is stored
    (engine/conversation/quotes.py)."""

    text: str
    author: str | None = None  # a display name made safe by clean_speaker; None when unknown
    own: bool = False  # the bot's own earlier answer


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
    quote: Quote | None = None  # what the message replies to, as the model is shown it


class AttachmentKind(StrEnum):
    """What a turn's attachment is, as the model is given it."""

    IMAGE = "image"  # a photo or an image file: an image_url part
    VOICE = "voice"  # a voice note, audio file or video note: its transcript
    DOCUMENT = "document"  # a text file or PDF: its extracted text


@dataclass(frozen=True)
class Attachment:
    """A file sent with a user's message (see migration 0007). `text` is what was derived
    from it (a transcript, a document's text) once it was; `data` an image's cached bytes."""

    kind: AttachmentKind
    file_id: str  # the channel's id, to fetch it (again)
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None  # bytes, as announced by the channel
    duration: int | None = None  # seconds (voice, audio)
    text: str | None = None
    note: str | None = None  # what the user was told about it (a document cut short)
    data: bytes | None = None
    id: int | None = None  # set once stored


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
    quote: Quote | None = None
    tool_calls: str | None = None  # the tool calls and results of the answer, compact JSON

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


@dataclass(frozen=True)
class ConversationRecord:
    """One of a chat's (or topic's) conversations, numbered from 1 (see migration 0006)."""

    number: int
    title: str | None
    created_at: float
    last_used_at: float
