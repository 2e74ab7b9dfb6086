"""How one environment value is read: the parsing rules the sections share.

Each rule is an annotated type, so a field says what it accepts where it is declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import BeforeValidator, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


@dataclass(frozen=True)
class Price:
    """A model's price in US dollars per one million tokens."""

    input_per_m: float
    output_per_m: float


def blank_is_unset(value: object) -> object:
    """`KEY=` (as copied from .env.example) means "not set", not an empty value."""
    return (value.strip() or None) if isinstance(value, str) else value


def split_csv(value: object) -> object:
    """`a, b ,c,` -> ("a", "b", "c")."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def parse_ids(value: object) -> object:
    """Numeric ids, comma-separated (usernames can change hands; ids cannot)."""
    if not isinstance(value, str):
        return value
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if not item.lstrip("-").isdigit()]
    if bad:
        raise ValueError(f"must be numeric ids separated by commas; not an id: {bad[0]!r}")
    return frozenset(int(item) for item in items)


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


def parse_prices(value: object) -> object:
    """`MODEL_PRICES=gpt-4o-mini=0.15/0.60,gpt-4o=2.5/10` (USD per 1M input/output tokens)."""
    if not isinstance(value, str):
        return value
    items = [item.strip() for item in value.split(",") if item.strip()]
    return dict(_parse_price(item) for item in items)


def http_url(value: object) -> object:
    """A blank value is unset; anything else must be an http(s) URL."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
    return value


HIDDEN = "[REDACTED]"
_SECRET_PARAMS = ("key", "token", "secret", "sig", "pass", "auth", "cred")


def _secret_param(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_PARAMS)


def url_secrets(url: str | None) -> list[str]:
    """The credentials inside a URL: the password of `user:pass@` (the user when there is no
    password: `token@host`), and the values of query parameters named like a key or token."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.password] if parts.password else [parts.username or ""]
    found += [value for name, value in parse_qsl(parts.query) if _secret_param(name)]
    return [unquote(s) for s in found if s] + [s for s in found if s]


def redact_url(url: str) -> str:
    """`url` as it may be shown: without its userinfo and its secret-looking query values."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{HIDDEN}@{host}" if "@" in parts.netloc else host
        query = [
            (name, HIDDEN if _secret_param(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="[]"), ""))
    except ValueError:  # not even a URL: it may be anything, so show nothing
        return HIDDEN


class Section(BaseSettings):
    """One frozen group of settings, each read from the environment variable of its name
    (case-insensitive, no prefix: the names operators already use)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)


BlankIsUnset = BeforeValidator(blank_is_unset)
OptionalSecret = Annotated[SecretStr | None, BlankIsUnset]
OptionalStr = Annotated[str | None, BlankIsUnset]
Url = Annotated[str | None, BeforeValidator(http_url)]
Ids = Annotated[frozenset[int], NoDecode, BeforeValidator(parse_ids)]
Names = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_csv)]
Prices = Annotated[dict[str, Price], NoDecode, BeforeValidator(parse_prices)]
