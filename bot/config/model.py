"""The model provider's settings, and the endpoint a model client talks to."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, SecretStr, model_validator

from bot.config.capabilities import DEFAULT_TOOL_MODELS, DEFAULT_VISION_MODELS
from bot.config.values import Names, OptionalSecret, OptionalStr, Prices, Section, Url


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and which models a chat may choose: the configured provider, or the
    local model once it is started (its name is then the only model)."""

    base_url: str | None  # None: OpenAI's
    api_key: SecretStr | None  # None: a server that needs no key
    models: tuple[str, ...]  # the choices for /model, the default first when not listed
    default_model: str
    # The choices by provider (PROVIDERS_FILE), for /model to group them; () when one provider.
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


class ModelSettings(Section):
    """OPENAI_*, APP_*, MODEL_PRICES and FALLBACK_*."""

    openai_api_key: OptionalSecret = None
    openai_base_url: Url = None
    openai_model: str = "gpt-4o-mini"
    openai_models: Names = ()  # as configured; see `models`
    openai_timeout: float = Field(default=60.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    openai_retry_max_seconds: float = Field(default=30.0, gt=0)
    app_url: Url = None
    app_name: str | None = None
    model_prices: Prices = Field(default_factory=dict)
    # Glob patterns of the models that see images / call tools (engine/models/capabilities.py).
    vision_models: Names = DEFAULT_VISION_MODELS
    tool_models: Names = DEFAULT_TOOL_MODELS

    # A second model for passing failures of the first (issue 5).
    fallback_model: OptionalStr = None
    fallback_base_url: Url = None
    fallback_api_key: OptionalSecret = None

    @model_validator(mode="after")
    def _fallback_complete(self) -> ModelSettings:
        if (self.fallback_base_url or self.fallback_api_key) and not self.fallback_model:
            raise ValueError("FALLBACK_BASE_URL and FALLBACK_API_KEY need FALLBACK_MODEL as well")
        return self

    @property
    def configured(self) -> bool:
        """Whether a provider is named at all (else the bundled demo model may serve)."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def models(self) -> tuple[str, ...]:
        """OPENAI_MODELS, with OPENAI_MODEL first when it is not listed: the default model is
        always a valid choice for /model."""
        if self.openai_model in self.openai_models:
            return self.openai_models
        return (self.openai_model, *self.openai_models)

    @property
    def endpoint(self) -> Endpoint:
        """The configured provider as an endpoint."""
        return Endpoint(self.openai_base_url, self.openai_api_key, self.models, self.openai_model)

    def fallback_endpoint(self, primary: Endpoint) -> Endpoint | None:
        """The fallback's own endpoint when FALLBACK_BASE_URL or FALLBACK_API_KEY is set (each
        defaulting to the primary's); None when the fallback shares the primary's client."""
        if not (self.fallback_base_url or self.fallback_api_key):
            return None
        assert self.fallback_model is not None  # _fallback_complete
        return Endpoint(
            self.fallback_base_url or primary.base_url,
            self.fallback_api_key or primary.api_key,
            (self.fallback_model,),
            self.fallback_model,
        )
