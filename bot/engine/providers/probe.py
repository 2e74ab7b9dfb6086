"""What `python -m bot check` asks each provider of PROVIDERS_FILE: its model list (/models),
to say which configured models it does not serve and whether it refuses its key."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import redact_url
from bot.config.providers import Provider
from bot.engine import errors
from bot.engine.models.client import LLMClient

OPENAI_API = "https://api.openai.com/v1"
SHOWN_MODELS = 8


@dataclass(frozen=True)
class Probe:
    """One provider's outcome; a failure says what to change."""

    ok: bool
    detail: str
    fix: str = ""


async def probe(provider: Provider, llm: LLMClient) -> Probe:
    """GET /models at `provider` with its key; compare with the catalogue's ids."""
    where = redact_url(provider.base_url or OPENAI_API)
    try:
        served = await llm.models()
    except errors.ModelAuthError:
        key = provider.api_key_env or "a key (this provider has no api_key_env)"
        return Probe(False, f"{where} refused its key", f"set {key} to a valid key for it")
    except errors.ModelNotFound:
        return Probe(True, f"{where} does not list its models (/models): not compared")
    except errors.ModelError as exc:
        fix = "check its base_url in PROVIDERS_FILE and that the server runs"
        return Probe(False, f"could not reach {where} ({exc.error_type})", fix)
    missing = [m.id for m in provider.models if m.id not in served]
    if missing:
        offered = ", ".join(served[:SHOWN_MODELS]) + (" …" if len(served) > SHOWN_MODELS else "")
        detail = f"{where} does not serve {', '.join(missing)}"
        return Probe(False, detail, f"use ids it serves in PROVIDERS_FILE: {offered or 'none'}")
    return Probe(True, f"serves all {len(provider.models)} configured models at {where}")
