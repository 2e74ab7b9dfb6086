"""How a conversation runs: prompts, history and context sizes, personas, summaries, recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from bot.config.values import BlankIsUnset, OptionalStr, Section

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant chatting in Telegram. Answer clearly and concisely; "
    "use Markdown sparingly (short paragraphs, lists and code blocks read well on a phone). "
    "In group chats, messages are prefixed with the speaker's name."
)


class ConversationSettings(Section):
    """SYSTEM_PROMPT, TEMPERATURE, MAX_*, PERSONAS_FILE, MODEL_TURN_TIMEOUT, PENDING_MAX_AGE/
    RECOVERY_INTERVAL, EXPORT_MAX_BYTES, HISTORY_RETENTION_DAYS, EDIT_REGENERATE_MINUTES,
    CONVERSATION_TITLES."""

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_history_messages: int = Field(default=20, ge=1, le=10_000)
    max_context_tokens: int = Field(default=8_000, ge=256)
    max_output_tokens: int = Field(default=1_000, ge=16)
    # Read (and checked) at start-up by the code that uses it, not here.
    personas_file: Annotated[Path | None, BlankIsUnset] = None
    # Reliability (issue 4): crash recovery and redelivery of unfinished turns.
    # The longest a turn's answer may take to generate, retries and fallback included.
    model_turn_timeout: float = Field(default=300.0, gt=0)
    pending_max_age_seconds: float = Field(default=3600.0, gt=0)
    recovery_interval_seconds: float = Field(default=60.0, gt=0)
    # Issue 14: /export stops at this size (Telegram bots may upload up to 50 MB), and turns
    # older than HISTORY_RETENTION_DAYS are deleted once a day (unset: kept forever).
    export_max_bytes: int = Field(default=45_000_000, ge=65_536, le=50 * 1024 * 1024)
    history_retention_days: Annotated[int | None, BlankIsUnset] = Field(
        default=None, ge=1, le=36_500
    )
    # Issue 16: editing the last question within this many minutes asks it again (0: never).
    edit_regenerate_minutes: float = Field(default=10.0, ge=0, le=10_080)
    # Issue 16: /chats shows model-written titles, made in the background (charged like
    # summaries); false: a conversation's title is the first words of its first question.
    conversation_titles: bool = True

    @model_validator(mode="after")
    def _output_fits(self) -> ConversationSettings:
        if self.max_output_tokens >= self.max_context_tokens:
            raise ValueError("MAX_OUTPUT_TOKENS must be smaller than MAX_CONTEXT_TOKENS")
        return self

    @property
    def max_prompt_tokens(self) -> int:
        """What a request's messages may use: the context less the room for the answer."""
        return self.max_context_tokens - self.max_output_tokens


class SummarySettings(Section):
    """SUMMARY_*: the rolling summary of what fell out of the history window (issue 9)."""

    summary_enabled: bool = True
    summary_model: OptionalStr = None  # None: the chat's own model
    summary_min_turns: int = Field(default=4, ge=1, le=40)
    summary_max_tokens: int = Field(default=400, ge=50, le=4_000)
    summary_timeout: float = Field(default=120.0, gt=0)
