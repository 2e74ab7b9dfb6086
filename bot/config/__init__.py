"""The bot's settings: read from the environment (and `.env`) once, validated, frozen, in
sections; each component receives the section it needs.

    telegram      TelegramSettings      TELEGRAM_*, STREAMING, STREAM_EDIT_INTERVAL, WEBHOOK_*
    model         ModelSettings         OPENAI_*, APP_*, MODEL_PRICES, FALLBACK_*
    local         LocalModelSettings    LOCAL_MODEL, LOCAL_MODEL_*
    conversation  ConversationSettings  SYSTEM_PROMPT, TEMPERATURE, MAX_*, PERSONAS_FILE, ...
    summary       SummarySettings       SUMMARY_*
    limits        LimitSettings         ALLOWED_*, ADMIN_USER_IDS, RATE_LIMIT_*, budgets
    service       ServiceSettings       DATABASE_URL, LOG_*, HEALTH_*, SHUTDOWN_GRACE_SECONDS
    tools         ToolSettings          MCP_SERVERS_FILE, TOOLS_ENABLED, MAX_TOOL_ROUNDS, ...
    database      DatabaseSettings      DATABASE_POOL_SIZE, REDIS_URL, REPLICA_ID
    media         MediaSettings         MEDIA_*, TRANSCRIPTION_*, TTS_*, VOICE_*, IMAGE_*, ...

Nothing here reads a file other than `.env`: what needs I/O (the personas file, the GGUF
file) is checked at start-up by the code that uses it, passed to `load_settings` as `checks`.
"""

from bot.config.conversation import DEFAULT_SYSTEM_PROMPT, ConversationSettings, SummarySettings
from bot.config.database import DatabaseSettings
from bot.config.limits import LimitSettings
from bot.config.local import BUNDLED, LocalModelSettings
from bot.config.media import MediaSettings
from bot.config.model import Endpoint, ModelSettings
from bot.config.service import ServiceSettings
from bot.config.settings import (
    ENV_NAMES,
    Check,
    ConfigError,
    Loaded,
    Settings,
    is_set,
    load_settings,
)
from bot.config.telegram import TelegramSettings
from bot.config.tools import ServersFileError, ServerSpec, ToolSettings, read_servers
from bot.config.values import Price, redact_url

__all__ = [
    "BUNDLED",
    "DEFAULT_SYSTEM_PROMPT",
    "ENV_NAMES",
    "Check",
    "ConfigError",
    "ConversationSettings",
    "DatabaseSettings",
    "Endpoint",
    "LimitSettings",
    "Loaded",
    "LocalModelSettings",
    "MediaSettings",
    "ModelSettings",
    "Price",
    "ServerSpec",
    "ServersFileError",
    "ServiceSettings",
    "Settings",
    "SummarySettings",
    "TelegramSettings",
    "ToolSettings",
    "is_set",
    "load_settings",
    "read_servers",
    "redact_url",
]
