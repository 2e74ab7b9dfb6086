"""Configuration: validated once at start-up, every problem reported together, secrets hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Price, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {name.upper() for name in Settings.model_fields}
    }
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


class TestStartupValidation:
    def test_all_problems_reported_together_exit_2(self, tmp_path: Path) -> None:
        """Missing and invalid values are all listed at once; exit code 2; no traceback."""
        result = run_bot(
            {
                "OPENAI_BASE_URL": "not a url",
                "MAX_HISTORY_MESSAGES": "lots",
                "TEMPERATURE": "7",
                "LOG_FORMAT": "xml",
            },
            tmp_path,
        )
        assert result.returncode == 2
        err = result.stderr
        names = (
            "TELEGRAM_BOT_TOKEN",
            "OPENAI_BASE_URL",
            "MAX_HISTORY_MESSAGES",
            "TEMPERATURE",
            "LOG_FORMAT",
        )
        for name in names:
            assert name in err
        assert "Traceback" not in err

    def test_missing_token_and_key(self, tmp_path: Path) -> None:
        """With nothing configured, both the token and the key are asked for."""
        result = run_bot({}, tmp_path)
        assert result.returncode == 2
        assert "TELEGRAM_BOT_TOKEN" in result.stderr
        assert "OPENAI_API_KEY" in result.stderr

    def test_secrets_never_printed(self, tmp_path: Path) -> None:
        """A configuration error never echoes the token or the key."""
        result = run_bot(
            {
                "TELEGRAM_BOT_TOKEN": "123:SECRET-TOKEN",
                "OPENAI_API_KEY": "sk-SECRET-KEY",
                "MAX_OUTPUT_TOKENS": "99999",
            },
            tmp_path,
        )
        assert result.returncode == 2
        assert "MAX_OUTPUT_TOKENS" in result.stderr
        assert "SECRET" not in result.stderr + result.stdout

    def test_dotenv_is_read(self, tmp_path: Path) -> None:
        """Values in .env in the working directory are used."""
        (tmp_path / ".env").write_text("TEMPERATURE=9\n", encoding="utf-8")
        result = run_bot({}, tmp_path)
        assert "TEMPERATURE" in result.stderr


class TestSettings:
    def test_defaults(self, clean_env: pytest.MonkeyPatch) -> None:
        """Sensible defaults; the default model is always among the choices."""
        clean_env.setenv("OPENAI_API_KEY", "k")
        settings = load_settings(require_telegram=False, env_file=None)
        assert settings.openai_model == "gpt-4o-mini"
        assert settings.openai_models == ["gpt-4o-mini"]
        assert settings.database_path == Path("data/bot.db")
        assert settings.log_format == "json"

    def test_lists_and_prices_parse(self, clean_env: pytest.MonkeyPatch) -> None:
        """OPENAI_MODELS is comma-separated; MODEL_PRICES is model=in/out."""
        clean_env.setenv("OPENAI_API_KEY", "k")
        clean_env.setenv("OPENAI_MODEL", "b")
        clean_env.setenv("OPENAI_MODELS", " a, b ,c,")
        clean_env.setenv("MODEL_PRICES", "a=0.15/0.6, openai/b=2.5/10")
        settings = load_settings(require_telegram=False, env_file=None)
        assert settings.openai_models == ["a", "b", "c"]
        assert settings.model_prices == {"a": Price(0.15, 0.6), "openai/b": Price(2.5, 10.0)}

    def test_bad_prices_are_explained(self, clean_env: pytest.MonkeyPatch) -> None:
        """A malformed price names the bad item."""
        clean_env.setenv("OPENAI_API_KEY", "k")
        clean_env.setenv("MODEL_PRICES", "a=cheap")
        with pytest.raises(ConfigError) as caught:
            load_settings(require_telegram=False, env_file=None)
        assert any("MODEL_PRICES" in p and "a=cheap" in p for p in caught.value.problems)

    def test_secrets_do_not_print(self, clean_env: pytest.MonkeyPatch) -> None:
        """The settings' repr hides the token and the key."""
        clean_env.setenv("OPENAI_API_KEY", "sk-very-secret")
        clean_env.setenv("TELEGRAM_BOT_TOKEN", "1:tok-very-secret")
        settings = load_settings(env_file=None)
        assert "very-secret" not in repr(settings) + str(settings)
        assert set(settings.secrets()) == {"1:tok-very-secret", "sk-very-secret", "tok-very-secret"}

    def test_local_server_needs_no_key(self, clean_env: pytest.MonkeyPatch) -> None:
        """With OPENAI_BASE_URL set, no API key is required (llama.cpp, Ollama)."""
        clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
        assert load_settings(require_telegram=False, env_file=None).openai_api_key is None
