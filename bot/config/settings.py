"""The settings as a whole: every section, read and validated once, frozen.

Every configuration problem is reported together, in plain words, before anything starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dotenv import load_dotenv
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.config.conversation import ConversationSettings, SummarySettings
from bot.config.database import DatabaseSettings
from bot.config.limits import LimitSettings
from bot.config.local import BUNDLED, LocalModelSettings
from bot.config.media import MediaSettings
from bot.config.model import ModelSettings
from bot.config.providers import ProviderSettings
from bot.config.service import ServiceSettings
from bot.config.telegram import TelegramSettings
from bot.config.tools import ToolSettings
from bot.config.values import Section, redact_url, url_secrets

S = TypeVar("S", bound=Section)

SECTIONS: tuple[type[Section], ...] = (
    TelegramSettings,
    ModelSettings,
    LocalModelSettings,
    ConversationSettings,
    SummarySettings,
    LimitSettings,
    ServiceSettings,
    ProviderSettings,
    ToolSettings,
    DatabaseSettings,
    MediaSettings,
)
ENV_NAMES: tuple[str, ...] = tuple(
    name.upper() for section in SECTIONS for name in section.model_fields
)
_SECRET_FIELDS = {
    "telegram_bot_token",
    "openai_api_key",
    "fallback_api_key",
    "webhook_secret",
    "transcription_api_key",
    "tts_api_key",
}


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists every reason in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """Everything the bot can be told, by section; each component receives its own section."""

    telegram: TelegramSettings
    model: ModelSettings
    local: LocalModelSettings
    conversation: ConversationSettings
    summary: SummarySettings
    limits: LimitSettings
    service: ServiceSettings
    providers: ProviderSettings
    database: DatabaseSettings
    tools: ToolSettings = field(default_factory=ToolSettings)
    media: MediaSettings = field(default_factory=MediaSettings)

    @property
    def local_model(self) -> str | None:
        """The GGUF to serve: LOCAL_MODEL, else the bundled demo model when no provider is
        configured (start-up checks that it is installed), else None (the provider)."""
        chosen = self.model.configured or self.providers.providers_file is not None
        if self.local.local_model is not None or chosen:
            return self.local.local_model
        return BUNDLED

    @property
    def local_slot_context(self) -> int:
        """Tokens of context per llama.cpp slot: LOCAL_MODEL_CTX_SIZE or MAX_CONTEXT_TOKENS."""
        return self.local.local_model_ctx_size or self.conversation.max_context_tokens

    def secrets(self) -> list[str]:
        """Every secret value, so logging can redact them wherever they appear."""
        token = self.telegram.telegram_bot_token
        found = [
            s.get_secret_value()
            for s in (
                token,
                self.model.openai_api_key,
                self.model.fallback_api_key,
                self.telegram.webhook_secret,
                self.media.transcription_api_key,
                self.media.tts_api_key,
            )
            if s is not None
        ]
        if token is not None:
            # The part after "123456:" is the secret half of a bot token.
            found.append(token.get_secret_value().partition(":")[2])
        for url in (
            self.model.openai_base_url,
            self.model.fallback_base_url,
            self.telegram.telegram_base_url,
            self.service.database_url,
            self.database.redis_url,
            self.media.transcription_base_url,
            self.media.tts_base_url,
        ):
            found += url_secrets(url)  # https://user:pass@host, ?key=...
        return [s for s in found if s]


class Loaded:
    """The sections as read, for a start-up check: a section with invalid values holds its
    defaults in their place (they are reported already); one that cannot be read is absent."""

    def __init__(self, sections: Mapping[type[Section], Section]) -> None:
        self._sections = dict(sections)

    def get(self, kind: type[S]) -> S | None:
        found = self._sections.get(kind)
        return found if isinstance(found, kind) else None

    def require(self, kind: type[S]) -> S:
        found = self.get(kind)
        if found is None:
            raise KeyError(kind.__name__)
        return found


Check = Callable[[Loaded], Iterable[str]]
"""A start-up check that needs I/O (a file to read): the problems it found, in plain words."""


def load_settings(
    *, require_telegram: bool = True, env_file: str | None = ".env", checks: Sequence[Check] = ()
) -> Settings:
    """Read `.env` (without overriding the real environment) and validate everything at once.

    `checks` run on the sections that validated, so that what they find is reported together
    with every other problem. Raises ConfigError listing them all.
    """
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    problems = _missing(require_telegram=require_telegram)
    loaded, invalid = _read_sections()
    problems += invalid
    for check in checks:
        problems += check(loaded)
    if invalid:
        raise ConfigError(problems)
    settings = Settings(
        telegram=loaded.require(TelegramSettings),
        model=loaded.require(ModelSettings),
        local=loaded.require(LocalModelSettings),
        conversation=loaded.require(ConversationSettings),
        summary=loaded.require(SummarySettings),
        limits=loaded.require(LimitSettings),
        service=loaded.require(ServiceSettings),
        providers=loaded.require(ProviderSettings),
        tools=loaded.require(ToolSettings),
        database=loaded.require(DatabaseSettings),
        media=loaded.require(MediaSettings),
    )
    problems += _across_sections(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _read_sections() -> tuple[Loaded, list[str]]:
    """Every section that validates, and the problems of those that do not."""
    sections: dict[type[Section], Section] = {}
    problems: list[str] = []
    for kind in SECTIONS:
        try:
            sections[kind] = kind()
        except ValidationError as exc:
            problems += [_describe(err) for err in exc.errors()]
            partial = _valid_part(kind, exc)
            if partial is not None:
                sections[kind] = partial
    return Loaded(sections), problems


def _valid_part(kind: type[Section], error: ValidationError) -> Section | None:
    """The section with its invalid values left at their defaults, so that a start-up check
    still sees the valid ones (the invalid ones are reported already); None when that does
    not validate either."""
    invalid = {str(err["loc"][0]) for err in error.errors() if err["loc"]}
    defaults = {
        name: kind.model_fields[name].get_default(call_default_factory=True) for name in invalid
    }
    try:
        return kind(**defaults)
    except ValidationError:
        return None


def _across_sections(settings: Settings) -> list[str]:
    """What no one section can tell: secrets in the webhook URL, two model sources."""
    problems = []
    url = settings.telegram.webhook_url
    if url and any(secret in url for secret in settings.secrets()):
        problems.append(
            "WEBHOOK_URL must not contain the bot token or another secret: anyone who sees "
            "the URL would have it (WEBHOOK_SECRET is what protects the webhook)"
        )
    if settings.local.local_model is not None and settings.model.openai_base_url is not None:
        problems.append("LOCAL_MODEL and OPENAI_BASE_URL: set only one of them")
    if settings.local.local_model is not None and settings.providers.providers_file is not None:
        problems.append("LOCAL_MODEL and PROVIDERS_FILE: set only one of them")
    own = settings.model.fallback_base_url or settings.model.fallback_api_key
    if own and settings.providers.providers_file is not None:
        problems.append(
            "FALLBACK_BASE_URL and FALLBACK_API_KEY are not used with PROVIDERS_FILE: put the "
            "fallback's provider in the file and name its model in FALLBACK_MODELS"
        )
    if settings.model.fallback_model and settings.providers.fallback_models:
        problems.append("FALLBACK_MODEL and FALLBACK_MODELS: set only one of them")
    return problems


def _describe(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"] if part != "__root__"]
    name = loc[0].upper() if loc else ""
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    shown = "" if not loc or loc[0] in _SECRET_FIELDS else f" (got {_shown(error)!r})"
    return f"{name}: {message}{shown}" if name else message


def _shown(error: ErrorDetails) -> object:
    """The invalid value as it may be printed: a URL without the credentials inside it."""
    value = error.get("input")
    if isinstance(value, str) and str(error["loc"][0]).endswith("_url"):
        return redact_url(value)
    return value


def is_set(name: str) -> bool:
    """Whether the environment gives NAME a value that is not blank (case-insensitively, as
    the settings are matched)."""
    return any(key.upper() == name and value.strip() for key, value in os.environ.items())


def _missing(*, require_telegram: bool) -> list[str]:
    """Required values that are absent (checked on the raw environment, so that they are
    reported together with any invalid values)."""
    if require_telegram and not is_set("TELEGRAM_BOT_TOKEN"):
        return ["TELEGRAM_BOT_TOKEN: is required (ask @BotFather for one)"]
    return []
