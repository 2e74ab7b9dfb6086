"""The Telegram channel's settings: the bot's token, streaming, and how updates arrive."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from bot.config.values import OptionalSecret, Section, Url

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


def _webhook_url(value: object) -> object:
    if isinstance(value, str):
        value = value.strip() or None
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// URL Telegram posts updates to")
    return value


class TelegramSettings(Section):
    """TELEGRAM_*, STREAMING/STREAM_EDIT_INTERVAL, MAX_QUEUED_PER_CHAT, FLOOD_WAIT_MAX and
    WEBHOOK_*."""

    telegram_bot_token: OptionalSecret = None  # required by `run`; see load_settings
    telegram_base_url: Url = None

    # Streaming answers to Telegram (issue 3): drafts in private chats, edits in groups.
    streaming: bool = True
    stream_edit_interval: float = Field(default=1.0, ge=0.1, le=60.0)

    # Fairness under floods (issue 14): a chat's queue of updates waiting for it, and the
    # longest flood-control wait (retry_after) obeyed before an answer is left for later.
    max_queued_per_chat: int = Field(default=10, ge=1, le=1_000)
    flood_wait_max: float = Field(default=60.0, gt=0, le=3_600)

    # Webhook mode (issue 6).
    webhook_url: Annotated[str | None, BeforeValidator(_webhook_url)] = None  # unset: polling
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None  # generated at start when unset

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value
