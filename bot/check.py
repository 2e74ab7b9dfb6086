"""`python -m bot check`: can the bot run with this configuration?

Validates the settings, asks Telegram who the bot is (getMe), makes a one-token request to
the model (with PROVIDERS_FILE: asks each provider for its model list instead, and says which
configured models it does not serve and which keys are refused), and starts the MCP servers of
MCP_SERVERS_FILE (if any); prints one line per check
and, for each failure, what to change. Exit code 0 when everything passed, 1 otherwise.
Secrets are never printed.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TextIO

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, ModelSettings, Settings, TelegramSettings, redact_url
from bot.config.providers_file import catalogue_of
from bot.engine import errors
from bot.engine.events import NO_EVENTS
from bot.engine.models.client import RetryPolicy
from bot.engine.providers.catalogue import capability_map
from bot.engine.providers.clients import provider_client
from bot.engine.providers.probe import probe
from bot.observability.logs import add_secrets, configure_logging
from bot.startup import load_checked_settings
from bot.wiring import StartupError, local_endpoint, make_llm, open_tools, start_local_model

TELEGRAM_API = "https://api.telegram.org"
OPENAI_API = "https://api.openai.com/v1"
SHOWN_MODELS = 8


@dataclass(frozen=True)
class Result:
    """One check's outcome; a failure says what to change."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


async def check_telegram(settings: TelegramSettings) -> Result:
    """getMe with the configured token and base URL."""
    token = settings.telegram_bot_token
    assert token is not None
    where = redact_url(settings.telegram_base_url or TELEGRAM_API)
    bot = Bot(
        token.get_secret_value(), base_url=settings.telegram_base_url or f"{TELEGRAM_API}/bot"
    )
    try:
        async with bot:  # initialize() calls getMe
            me = bot.bot
    except InvalidToken:
        fix = "copy the token again from @BotFather (/mybots -> your bot -> API Token)"
        if settings.telegram_base_url:
            fix += "; or TELEGRAM_BASE_URL is wrong (it must end in /bot: the token follows it)"
        return Result("telegram", False, f"{where} rejected TELEGRAM_BOT_TOKEN", fix)
    except NetworkError as exc:  # timeouts included
        return Result(
            "telegram",
            False,
            f"could not reach {where} ({type(exc).__name__})",
            "check the network and TELEGRAM_BASE_URL (leave it unset for Telegram's own API)",
        )
    except TelegramError as exc:
        return Result("telegram", False, f"Telegram answered: {exc.message}")
    return Result("telegram", True, f"@{me.username} (id {me.id}) at {where}")


def _no_retry(settings: ModelSettings) -> RetryPolicy:
    return RetryPolicy(max_retries=0, max_seconds=settings.openai_retry_max_seconds)


async def check_model(settings: ModelSettings) -> Result:
    """A one-token request to OPENAI_MODEL, without retries."""
    llm = make_llm(settings, settings.endpoint, retry=_no_retry(settings))
    model, where = settings.openai_model, redact_url(settings.openai_base_url or OPENAI_API)
    try:
        await llm.complete(
            [{"role": "user", "content": "Say OK."}], model=model, max_tokens=1, temperature=0
        )
    except (errors.ModelNotFound, errors.ModelRejected) as exc:
        return await _diagnose_rejection(settings, exc)
    except errors.ModelAuthError:
        fix = "set OPENAI_API_KEY to a valid key for this provider"
        return Result("model", False, f"{where} rejected OPENAI_API_KEY", fix)
    except errors.ModelUnavailable as exc:  # connection refused, DNS, timeouts, 5xx
        fix = (
            "check OPENAI_BASE_URL and that the server runs (Ollama: http://127.0.0.1:11434/v1, "
            "llama.cpp: http://127.0.0.1:8080/v1)"
        )
        return Result("model", False, f"could not reach {where} ({exc.error_type})", fix)
    except errors.ModelBusy:
        fix = "wait, or check the account's quota and billing"
        return Result("model", False, f"{where} is rate-limiting this key", fix)
    except errors.ModelError as exc:
        return Result("model", False, f"the request to {model} failed ({exc.error_type})")
    finally:
        await llm.close()
    return Result("model", True, f"{model} answered at {where}")


async def check_local_model(settings: Settings) -> Result:
    """LOCAL_MODEL: start the embedded llama.cpp server as the bot would, ask for one token."""
    async with AsyncExitStack() as stack:
        try:
            server = await start_local_model(settings, stack)
        except StartupError as exc:
            return Result("model", False, str(exc), "check LOCAL_MODEL and LOCAL_MODEL_*")
        llm = make_llm(settings.model, local_endpoint(server))
        stack.push_async_callback(llm.close)
        try:
            await llm.complete(
                [{"role": "user", "content": "Say OK."}],
                model=server.model_name,
                max_tokens=1,
                temperature=0,
            )
        except errors.ModelError as exc:
            return Result("model", False, f"the local model failed ({exc.error_type})")
    return Result("model", True, f"{server.model_name} answered (LOCAL_MODEL, embedded)")


async def _diagnose_rejection(settings: ModelSettings, error: errors.ModelError) -> Result:
    """A 404 or 400: an unknown model, or a base URL that is not an OpenAI-compatible API."""
    model, where = settings.openai_model, redact_url(settings.openai_base_url or OPENAI_API)
    llm = make_llm(settings, settings.endpoint, retry=_no_retry(settings))
    try:
        offered = await llm.models()
    except errors.ModelError:
        offered = None
    finally:
        await llm.close()
    if offered is None and isinstance(error, errors.ModelNotFound):
        fix = "OpenAI-compatible URLs usually end in /v1, e.g. https://openrouter.ai/api/v1"
        return Result("model", False, f"{where} is not an OpenAI-compatible API (404)", fix)
    if offered and model not in offered:
        names = ", ".join(offered[:SHOWN_MODELS]) + (" …" if len(offered) > SHOWN_MODELS else "")
        fix = f"set OPENAI_MODEL to a model it offers: {names}"
        return Result("model", False, f"{where} does not know the model {model!r}", fix)
    if isinstance(error, errors.ModelNotFound):
        fix = "set OPENAI_MODEL to a model this provider offers"
        return Result("model", False, f"{where} does not know the model {model!r}", fix)
    return Result("model", False, f"{where} rejected the request to {model} ({error.error_type})")


async def check_tools(settings: Settings) -> Result:
    """MCP_SERVERS_FILE: start every server as the bot would and list their tools."""
    async with AsyncExitStack() as stack:
        loop = await open_tools(settings, stack, NO_EVENTS)
        assert loop is not None
        servers = loop.toolbox.by_server(admin=True)
        down = sorted(name for name, tools in servers.items() if tools is None)
        detail = "; ".join(
            f"{name}: {'not available' if tools is None else f'{len(tools)} tools'}"
            for name, tools in servers.items()
        )
    if down:
        fix = f"check the command or URL of {', '.join(down)} in MCP_SERVERS_FILE"
        return Result("tools", False, detail, fix)
    return Result("tools", True, detail or "no servers")


def _configuration(settings: Settings) -> Result:
    telegram, service = settings.telegram, settings.service
    mode = f"webhook at {telegram.webhook_url}" if telegram.webhook_url else "polling"
    health = f"health on {service.health_listen}:{service.health_port}"
    if service.health_port == 0:
        health = "health server off"
    model = settings.model.openai_model
    if settings.providers.providers_file is not None:
        model = f"catalogue {settings.providers.providers_file}"
    detail = f"{mode}; model {model}; {health}; database {service.database_shown}"
    return Result("configuration", True, detail)


async def check_providers(settings: Settings) -> list[Result]:
    """PROVIDERS_FILE: each provider's model list, against the models it is said to serve."""
    catalogue = catalogue_of(settings.model, settings.providers)
    add_secrets(catalogue.secrets())
    capabilities = capability_map(catalogue, settings.model)
    results = []
    for provider in catalogue.providers:
        retry = RetryPolicy(max_retries=0, max_seconds=provider.retry_max_seconds)
        llm = provider_client(provider, settings.model, capabilities=capabilities, retry=retry)
        try:
            found = await probe(provider, llm)
        finally:
            await llm.close()
        results.append(Result(f"provider {provider.name}", found.ok, found.detail, found.fix))
    return results


async def run_checks(settings: Settings) -> list[Result]:
    configuration, telegram = _configuration(settings), await check_telegram(settings.telegram)
    tools = [await check_tools(settings)] if settings.tools.enabled else []
    if settings.providers.providers_file is not None:
        return [configuration, telegram, *await check_providers(settings), *tools]
    if settings.local_model is None:
        return [configuration, telegram, await check_model(settings.model), *tools]
    return [configuration, telegram, await check_local_model(settings), *tools]


def render(results: list[Result], out: TextIO) -> None:
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"  {'ok  ' if r.ok else 'FAIL'}  {r.name:<{width}}  {r.detail}", file=out)
        if r.fix:
            print(f"  {'':4}  {'':<{width}}  fix: {r.fix}", file=out)
    failed = sum(not r.ok for r in results)
    print(
        f"\n{failed} of {len(results)} checks failed." if failed else "\nAll checks passed.",
        file=out,
    )


def main(out: TextIO = sys.stdout) -> int:
    """Run every check, print the report; 0 when all passed, 1 otherwise."""
    try:
        settings = load_checked_settings(require_telegram=True)
    except ConfigError as exc:
        results = [
            Result("configuration", False, problem, "set it in .env or the environment")
            for problem in exc.problems
        ]
        render(results, out)
        print("Telegram and the model were not checked.", file=out)
        return 1
    configure_logging(
        level="WARNING",
        fmt=settings.service.log_format,
        secrets=settings.secrets(),
        stream=sys.stderr,
    )
    results = asyncio.run(run_checks(settings))
    render(results, out)
    return 0 if all(r.ok for r in results) else 1
