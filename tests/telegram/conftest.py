"""Per-class bot settings for the end-to-end tests: a test class's `ENV` dict is set before the
bot starts, so that a class configures the bot once, without a restart in each test."""

from __future__ import annotations

import pytest


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> dict[str, str]:
    """The root `bot_env`, with the requesting class's `ENV` (if any) applied on top."""
    for name, value in getattr(request.cls, "ENV", {}).items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env
