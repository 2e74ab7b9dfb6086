"""Reading PROVIDERS_FILE (TOML): every problem found at once, in plain words, with where.

default_model = "gpt-4o-mini"          # optional: else the first model of the first provider

[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com/v1/"
api_key_env = "ANTHROPIC_API_KEY"      # the variable's NAME: keys never go in the file
preset = "anthropic"                   # a known dialect; [providers.dialect] overrides it
max_concurrency = 4                    # optional cap on requests in flight

[[providers.models]]
id = "claude-sonnet-4-5"
vision = true
tools = true
input_price = 3.0                      # USD per 1M tokens
output_price = 15.0
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.config.model import ModelSettings
from bot.config.providers import (
    PRESETS,
    Catalogue,
    CatalogueModel,
    Dialect,
    MaxTokensField,
    Provider,
    ProviderSettings,
    SystemRole,
    TemperatureRule,
    catalogue_from_env,
    fallback_chain,
)
from bot.config.values import Price, http_url

MAX_FILE_BYTES = 1_000_000
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ProvidersFileError(Exception):
    """PROVIDERS_FILE cannot be used; `problems` says every reason, with where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _DialectEntry(_Strict):
    stream_options: bool | None = None
    max_tokens_field: MaxTokensField | None = None
    temperature: TemperatureRule | None = None
    system_role: SystemRole | None = None
    think_tags: bool | None = None
    attribution: bool | None = None


class _ModelEntry(_Strict):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=60)
    vision: bool | None = None
    audio: bool | None = None
    tools: bool | None = None
    reasoning: bool | None = None
    context_window: int | None = Field(default=None, gt=0)
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)


class _ProviderEntry(_Strict):
    name: str = Field(min_length=1, max_length=40)
    base_url: str | None = None
    api_key_env: str | None = None
    preset: str = "generic"
    dialect: _DialectEntry = _DialectEntry()
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    models: list[_ModelEntry] = Field(min_length=1)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        checked = http_url(value)
        return checked if isinstance(checked, str) else None

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("must be the NAME of an environment variable, e.g. ANTHROPIC_API_KEY")
        return value

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise ValueError(f"must be one of {', '.join(PRESETS)}")
        return value


class _File(_Strict):
    default_model: str | None = None
    providers: list[_ProviderEntry] = Field(min_length=1)


def catalogue_of(model: ModelSettings, providers: ProviderSettings) -> Catalogue:
    """The providers and models this run uses: PROVIDERS_FILE's, else OPENAI_* / FALLBACK_*'s.
    Raises ProvidersFileError when the file cannot be used."""
    fallbacks = fallback_chain(model, providers)
    if providers.providers_file is None:
        return catalogue_from_env(model, fallbacks)
    return load_catalogue(providers.providers_file, fallbacks)


def load_catalogue(path: Path, fallbacks: tuple[str, ...] = ()) -> Catalogue:
    """The catalogue PROVIDERS_FILE describes; raises ProvidersFileError with every problem
    (the file, its shape, names used twice, keys not set, unknown default or fallback)."""
    data = _read(path)
    problems = _cross_problems(data, fallbacks)  # read from the raw file: reported in any case
    try:
        parsed = _File.model_validate(_no_keys(data))
    except ValidationError as exc:
        shape = [_describe(err["loc"], err["msg"], data) for err in exc.errors()]
        raise ProvidersFileError(shape + _key_problems(data) + problems) from None
    if problems:
        raise ProvidersFileError(problems)
    return _catalogue(parsed, fallbacks)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProvidersFileError([f"cannot read the file ({exc.strerror})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProvidersFileError([f"the file is larger than {MAX_FILE_BYTES:,} bytes"])
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProvidersFileError([f"not valid TOML: {exc}"]) from None


def _no_keys(data: dict[str, Any]) -> dict[str, Any]:
    """The file without `api_key` entries (reported on their own, never echoed)."""
    providers = data.get("providers")
    if not isinstance(providers, list):
        return data
    cleaned = [
        {k: v for k, v in p.items() if k != "api_key"} if isinstance(p, dict) else p
        for p in providers
    ]
    return {**data, "providers": cleaned}


def _key_problems(data: Mapping[str, Any]) -> list[str]:
    providers = data.get("providers")
    return [
        f"{_where(('providers', i), data)}.api_key: keys never go in the file; put the key in "
        "an environment variable and give its name as api_key_env"
        for i, p in enumerate(providers if isinstance(providers, list) else [])
        if isinstance(p, dict) and "api_key" in p
    ]


def _where(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """`providers[1] (anthropic).models[0]` for a location in the file."""
    out: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            out[-1] += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str):
                out[-1] += f" ({name})"
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def _describe(loc: tuple[int | str, ...], message: str, data: Mapping[str, Any]) -> str:
    message = message.removeprefix("Value error, ")
    if message == "Extra inputs are not permitted":
        message = "is not a known setting (a typo?)"
    return f"{_where(loc, data)}: {message}" if loc else message


def _catalogue(parsed: _File, fallbacks: tuple[str, ...]) -> Catalogue:
    providers = tuple(_provider(entry) for entry in parsed.providers)
    default = parsed.default_model or providers[0].models[0].name
    return Catalogue(providers, default, fallbacks)


def _provider(entry: _ProviderEntry) -> Provider:
    key = os.environ.get(entry.api_key_env, "").strip() if entry.api_key_env else ""
    return Provider(
        name=entry.name,
        base_url=entry.base_url,
        api_key=SecretStr(key) if key else None,
        models=tuple(_model(m) for m in entry.models),
        headers=tuple(entry.headers.items()),
        timeout=entry.timeout,
        max_retries=entry.max_retries,
        retry_max_seconds=entry.retry_max_seconds,
        max_concurrency=entry.max_concurrency,
        dialect=_dialect(entry),
        api_key_env=entry.api_key_env,
    )


def _dialect(entry: _ProviderEntry) -> Dialect:
    base = PRESETS[entry.preset]
    given = entry.dialect.model_dump(exclude_none=True)
    return Dialect(**{f.name: given.get(f.name, getattr(base, f.name)) for f in fields(Dialect)})


def _model(entry: _ModelEntry) -> CatalogueModel:
    price = None
    if entry.input_price is not None or entry.output_price is not None:
        price = Price(entry.input_price or 0.0, entry.output_price or 0.0)
    return CatalogueModel(
        name=entry.name or entry.id,
        id=entry.id,
        vision=entry.vision,
        audio=entry.audio,
        tools=entry.tools,
        reasoning=entry.reasoning,
        context_window=entry.context_window,
        price=price,
    )


def _entries(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    found = data.get(key)
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def _model_names(data: Mapping[str, Any]) -> list[str]:
    names = [m.get("name") or m.get("id") for p in _entries(data, "providers")
             for m in _entries(p, "models")]  # fmt: skip
    return [n for n in names if isinstance(n, str)]


def _cross_problems(data: Mapping[str, Any], fallbacks: tuple[str, ...]) -> list[str]:
    """What no one entry can tell, read from the file as it is (so that it is reported with
    the entries' own problems): names used twice, keys not set, unknown model names."""
    providers = _entries(data, "providers")
    used = Counter(p["name"] for p in providers if isinstance(p.get("name"), str))
    problems = [f"providers: the name {n!r} is used twice" for n, c in used.items() if c > 1]
    models = _model_names(data)
    problems += [
        f"models: the name {n!r} is used twice (give one of them another `name`)"
        for n, c in Counter(models).items()
        if c > 1
    ]
    for entry in providers:
        env = entry.get("api_key_env")
        if isinstance(env, str) and _ENV_NAME.match(env) and not os.environ.get(env, "").strip():
            where = entry.get("name") if isinstance(entry.get("name"), str) else "?"
            problems.append(
                f"providers ({where}).api_key_env: {env} is not set in the environment or .env"
            )
    default = data.get("default_model")
    if models and isinstance(default, str) and default not in models:
        problems.append(f"default_model: {default!r} is not in the catalogue")
    if models:
        problems += [f"FALLBACK_MODELS: {n!r} is not in the catalogue" for n in fallbacks
                     if n not in models]  # fmt: skip
    return problems
