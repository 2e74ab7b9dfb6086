"""The settings' shape: frozen sections, values derived rather than changed, no I/O in loading."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.config import ENV_NAMES, ConfigError, ModelSettings, load_settings
from bot.startup import load_checked_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-primary")
    return monkeypatch


class TestFrozen:
    def test_settings_and_sections_cannot_be_changed(self, env: pytest.MonkeyPatch) -> None:
        """Neither the settings nor a section accept a new value after loading."""
        settings = load_settings(require_telegram=False, env_file=None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.model = settings.model  # type: ignore[misc]
        with pytest.raises(ValidationError):
            settings.model.openai_model = "other"

    def test_the_default_model_is_derived_not_added(self, env: pytest.MonkeyPatch) -> None:
        """OPENAI_MODEL leads the /model choices when unlisted; OPENAI_MODELS stays as given."""
        env.setenv("OPENAI_MODEL", "main")
        env.setenv("OPENAI_MODELS", "a,b")
        model = load_settings(require_telegram=False, env_file=None).model
        assert model.openai_models == ("a", "b")
        assert model.models == ("main", "a", "b")
        assert model.endpoint.models == ("main", "a", "b")
        assert model.endpoint.default_model == "main"


class TestFallbackEndpoint:
    def test_shares_the_primary_unless_told_otherwise(self, env: pytest.MonkeyPatch) -> None:
        """Without FALLBACK_BASE_URL/FALLBACK_API_KEY the fallback has no endpoint of its own."""
        model = ModelSettings(openai_api_key=SecretStr("k"), fallback_model="backup")
        assert model.fallback_endpoint(model.endpoint) is None

    def test_a_base_url_alone_keeps_the_primary_key(self, env: pytest.MonkeyPatch) -> None:
        """FALLBACK_BASE_URL without FALLBACK_API_KEY: the primary's key at the other URL."""
        model = ModelSettings(
            openai_api_key=SecretStr("k"),
            fallback_model="backup",
            fallback_base_url="http://127.0.0.1:9/v1",
        )
        fallback = model.fallback_endpoint(model.endpoint)
        assert fallback is not None
        assert fallback.base_url == "http://127.0.0.1:9/v1"
        assert fallback.api_key == model.openai_api_key
        assert fallback.default_model == "backup"


class TestNoIO:
    def test_loading_reads_no_named_file(self, env: pytest.MonkeyPatch) -> None:
        """load_settings leaves files to start-up: a missing PERSONAS_FILE or GGUF is its
        problem, not the loader's."""
        env.delenv("OPENAI_API_KEY")
        env.setenv("PERSONAS_FILE", "no-such-personas.toml")
        env.setenv("LOCAL_MODEL", "no-such-model.gguf")
        settings = load_settings(require_telegram=False, env_file=None)
        assert settings.local_model == "no-such-model.gguf"
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        names = sorted(problem.split(":")[0] for problem in caught.value.problems)
        assert names == ["LOCAL_MODEL", "PERSONAS_FILE"]

    def test_config_imports_nothing_else_from_the_bot(self) -> None:
        """bot.config is a leaf: importing it loads no other bot module."""
        code = (
            "import sys, bot.config; "
            "print(sorted(m for m in sys.modules if m.startswith('bot.') "
            "and not m.startswith('bot.config')))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert result.stdout.strip() == "[]"
