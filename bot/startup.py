"""The settings as `python -m bot` reads them: `load_settings` plus the checks that read the
files the settings name (the GGUF model, the personas file), every problem reported together in
one ConfigError (exit code 2). Kept out of the validators so that loading does no I/O.
"""

from __future__ import annotations

from bot.config import (
    BUNDLED,
    ConversationSettings,
    Loaded,
    LocalModelSettings,
    ModelSettings,
    ServersFileError,
    Settings,
    ToolSettings,
    is_set,
    load_settings,
    read_servers,
)
from bot.config.providers import ProviderSettings, fallback_chain
from bot.config.providers_file import ProvidersFileError, load_catalogue
from bot.engine.models import local_model
from bot.engine.models.local_model import LocalModelError
from bot.engine.profiles.personas import PersonaFileError, load_personas

NO_MODEL = (
    "OPENAI_API_KEY: no model is configured. Set OPENAI_API_KEY (OpenAI), or "
    "OPENAI_BASE_URL (another provider or your own server), or LOCAL_MODEL (a GGUF "
    "file), or run `make install-local` to try the bot on the bundled demo model"
)


def load_checked_settings(
    *, require_telegram: bool = True, env_file: str | None = ".env"
) -> Settings:
    """The settings, with the files they name checked too (the GGUF model, the personas file):
    every problem reported together in one ConfigError."""
    return load_settings(
        require_telegram=require_telegram,
        env_file=env_file,
        checks=(model_source_problems, personas_problems, providers_problems, tools_problems),
    )


def model_source_problems(loaded: Loaded) -> list[str]:
    """LOCAL_MODEL must be a usable GGUF file with the server package installed; with no model
    configured at all, the bundled demo model must be installed."""
    local = loaded.get(LocalModelSettings)
    if local is not None and local.local_model is not None:
        try:
            local_model.check_available(local.local_model)
        except LocalModelError as exc:
            reason = str(exc).removeprefix("LOCAL_MODEL=bundled ").removeprefix("LOCAL_MODEL ")
            return [f"LOCAL_MODEL: {reason} (got {local.local_model!r})"]
        return []
    # On the raw environment: an invalid OPENAI_BASE_URL is reported, not taken for "unset".
    sources = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_MODEL", "PROVIDERS_FILE")
    if any(is_set(name) for name in sources):
        return []
    try:
        local_model.check_available(BUNDLED)
    except LocalModelError:
        return [NO_MODEL]
    return []


def personas_problems(loaded: Loaded) -> list[str]:
    """PERSONAS_FILE must be readable and make sense (what is wrong, where)."""
    conversation = loaded.get(ConversationSettings)
    if conversation is None or conversation.personas_file is None:
        return []
    try:
        load_personas(conversation.personas_file)
    except PersonaFileError as exc:
        return [f"PERSONAS_FILE: {exc} (got {str(conversation.personas_file)!r})"]
    return []


def providers_problems(loaded: Loaded) -> list[str]:
    """PROVIDERS_FILE must be readable and make sense: every problem, with where."""
    providers, model = loaded.get(ProviderSettings), loaded.get(ModelSettings)
    if providers is None or model is None or providers.providers_file is None:
        return []
    try:
        load_catalogue(providers.providers_file, fallback_chain(model, providers))
    except ProvidersFileError as exc:
        return [f"PROVIDERS_FILE: {problem}" for problem in exc.problems]
    return []


def tools_problems(loaded: Loaded) -> list[str]:
    """MCP_SERVERS_FILE must be readable JSON describing usable servers (every problem)."""
    tools = loaded.get(ToolSettings)
    if tools is None or tools.mcp_servers_file is None:
        return []
    try:
        read_servers(tools.mcp_servers_file)
    except ServersFileError as exc:
        return [f"MCP_SERVERS_FILE: {problem}" for problem in exc.problems]
    return []
