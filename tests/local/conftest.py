"""The real bot on the real bundled model (llama.cpp on the CPU): `make test-local`."""

from __future__ import annotations

import pytest

from tests.support.local_model import LOCAL_ENV


@pytest.fixture
def bot_env(bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No OpenAI settings at all, so the bot falls back to the bundled model by itself."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_MODELS"):
        bot_env.pop(name, None)
        monkeypatch.delenv(name, raising=False)
    for name, value in LOCAL_ENV.items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env
