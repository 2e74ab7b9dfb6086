"""A request's body in a provider's dialect (PROVIDERS_FILE presets and [dialect] options):
which field caps the answer's length, whether a temperature is sent, which role carries the
system prompt. Options, never `if provider == ...`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config.providers import Dialect


def request_body(
    dialect: Dialect,
    messages: Sequence[dict[str, Any]],
    *,
    model: str,
    max_tokens: int,
    temperature: float,
    reasoning: bool,
) -> dict[str, Any]:
    """The streamed request's body for `model` (`reasoning`: whether it is a reasoning model)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": _roles(list(messages), dialect.system_role),
        dialect.max_tokens_field: max_tokens,
        "stream": True,
    }
    if dialect.temperature == "always" or (
        dialect.temperature == "not_for_reasoning" and not reasoning
    ):
        body["temperature"] = temperature
    return body


def _roles(messages: list[dict[str, Any]], system_role: str) -> list[dict[str, Any]]:
    """The messages with the system prompt's role renamed when the dialect wants another."""
    if system_role == "system":
        return messages
    return [{**m, "role": system_role} if m.get("role") == "system" else m for m in messages]
