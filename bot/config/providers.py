"""Many providers, one /model (issue 17): PROVIDERS_FILE, SHOW_REASONING, FALLBACK_MODELS, and
the catalogue of providers and their models that the engine routes requests by.

Without PROVIDERS_FILE the catalogue is made of today's OPENAI_* (and FALLBACK_*) settings: one
provider, or two when the fallback has its own endpoint, that behave exactly as before. The
file itself is read and checked in providers_file.py (at start-up, every problem together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, SecretStr

from bot.config.model import Endpoint, ModelSettings
from bot.config.values import BlankIsUnset, Names, Price, Section, blank_is_unset

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
TemperatureRule = Literal["always", "not_for_reasoning", "never"]
SystemRole = Literal["system", "developer"]


@dataclass(frozen=True)
class Dialect:
    """How one provider's OpenAI-compatible endpoint differs from OpenAI's own: options, so
    that the engine never asks which provider it talks to."""

    stream_options: bool = True  # ask for usage with stream_options (else: never, not even once)
    max_tokens_field: MaxTokensField = "max_tokens"
    temperature: TemperatureRule = "always"  # reasoning models often refuse one
    system_role: SystemRole = "system"  # OpenAI's reasoning models want "developer"
    think_tags: bool = True  # <think>...</think> at the start of content is reasoning
    attribution: bool = False  # send APP_URL / APP_NAME as HTTP-Referer / X-Title (OpenRouter)


DEFAULT_DIALECT = Dialect()  # OpenAI's own API, as the bot always spoke it

# Known endpoints' differences (docs/configuration.md#providers lists them with sources).
PRESETS: Mapping[str, Dialect] = {
    "openai": Dialect(max_tokens_field="max_completion_tokens", temperature="not_for_reasoning"),
    "anthropic": Dialect(temperature="not_for_reasoning"),
    "gemini": Dialect(temperature="not_for_reasoning"),
    "openrouter": Dialect(attribution=True),
    "deepseek": Dialect(temperature="not_for_reasoning"),
    "ollama": Dialect(),
    "llamacpp": Dialect(),
    "vllm": Dialect(),
    "generic": Dialect(),
}


@dataclass(frozen=True)
class CatalogueModel:
    """One model a provider serves. `name` is what /model shows and chats store; `id` is what
    the provider is asked for (they differ when two providers serve the same id). A capability
    left out (None) is answered by the VISION_MODELS / TOOL_MODELS patterns."""

    name: str
    id: str
    vision: bool | None = None
    audio: bool | None = None
    tools: bool | None = None
    reasoning: bool | None = None
    context_window: int | None = None
    price: Price | None = None
    offered: bool = True  # False: reached only as a fallback, not listed in /model


@dataclass(frozen=True)
class Provider:
    """One OpenAI-compatible endpoint and the models it serves."""

    name: str
    base_url: str | None  # None: OpenAI's
    api_key: SecretStr | None = field(repr=False)  # read from the variable named in the file
    models: tuple[CatalogueModel, ...]
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 60.0
    max_retries: int = 3
    retry_max_seconds: float = 30.0
    max_concurrency: int | None = None  # None: no cap
    dialect: Dialect = DEFAULT_DIALECT
    api_key_env: str | None = None  # the variable's name, for messages (never its value)


@dataclass(frozen=True)
class Catalogue:
    """Every provider and model the bot may use; /model offers the `offered` ones."""

    providers: tuple[Provider, ...]
    default_model: str
    fallback_models: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[str, ...]:
        """The models on offer, provider by provider, in the file's order."""
        return tuple(m.name for p in self.providers for m in p.models if m.offered)

    def find(self, name: str) -> tuple[Provider, CatalogueModel] | None:
        """The provider serving the model called `name`, and its entry."""
        for provider in self.providers:
            for model in provider.models:
                if model.name == name:
                    return provider, model
        return None

    def prices(self) -> dict[str, Price]:
        """The prices the catalogue gives, by model name."""
        return {m.name: m.price for p in self.providers for m in p.models if m.price is not None}

    def secrets(self) -> list[str]:
        """Every provider's key, for the log redactor."""
        return [p.api_key.get_secret_value() for p in self.providers if p.api_key is not None]


OptionalPath = Annotated[Path | None, BeforeValidator(blank_is_unset)]


class ProviderSettings(Section):
    """PROVIDERS_FILE, SHOW_REASONING and FALLBACK_MODELS."""

    providers_file: OptionalPath = None
    show_reasoning: bool = True
    fallback_models: Annotated[Names, BlankIsUnset] = ()


def fallback_chain(model: ModelSettings, providers: ProviderSettings) -> tuple[str, ...]:
    """FALLBACK_MODELS, or FALLBACK_MODEL as a chain of one."""
    if providers.fallback_models:
        return providers.fallback_models
    return (model.fallback_model,) if model.fallback_model else ()


def catalogue_from_env(
    model: ModelSettings, fallbacks: tuple[str, ...] = (), primary: Endpoint | None = None
) -> Catalogue:
    """OPENAI_* (or `primary`: the started local model) as one provider, and FALLBACK_BASE_URL
    / FALLBACK_API_KEY as a second: the catalogue of a bot without PROVIDERS_FILE, which
    behaves as it always did."""
    dialect = Dialect(attribution=True)  # APP_* headers went to every request before
    primary = primary or model.endpoint
    offered = tuple(CatalogueModel(name, name) for name in primary.models)
    first = _env_provider("default", model, primary.base_url, primary.api_key)
    own = model.fallback_endpoint(primary)
    extra = [CatalogueModel(n, n, offered=False) for n in fallbacks if n not in primary.models]
    providers: tuple[Provider, ...]
    if own is None:
        providers = (replace(first, models=(*offered, *extra), dialect=dialect),)
    else:
        second = _env_provider("fallback", model, own.base_url, own.api_key)
        extra = [CatalogueModel(n, n, offered=False) for n in fallbacks]
        providers = (
            replace(first, models=offered, dialect=dialect),
            replace(second, models=tuple(extra), dialect=dialect),
        )
    return Catalogue(providers, primary.default_model, fallbacks)


def _env_provider(
    name: str, model: ModelSettings, base_url: str | None, key: SecretStr | None
) -> Provider:
    return Provider(
        name=name,
        base_url=base_url,
        api_key=key,
        models=(),
        timeout=model.openai_timeout,
        max_retries=model.openai_max_retries,
        retry_max_seconds=model.openai_retry_max_seconds,
    )
