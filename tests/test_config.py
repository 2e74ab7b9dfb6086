"""Configuration: validated once at start-up, every problem reported together, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ENV_NAMES, ConfigError, Price, load_settings
from bot.engine.models import local_model
from bot.engine.models.local_model import GGUF_MAGIC
from bot.startup import load_checked_settings
from tests.support.cli import run_bot


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
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

    def test_missing_token(self, tmp_path: Path) -> None:
        """With nothing configured, the token is asked for (the model: see TestModelChoice)."""
        result = run_bot({}, tmp_path)
        assert result.returncode == 2
        assert "TELEGRAM_BOT_TOKEN" in result.stderr

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
        assert settings.model.openai_model == "gpt-4o-mini"
        assert settings.model.models == ("gpt-4o-mini",)
        assert settings.service.database_path == Path("data/bot.db")
        assert settings.service.log_format == "json"

    def test_lists_and_prices_parse(self, clean_env: pytest.MonkeyPatch) -> None:
        """OPENAI_MODELS is comma-separated; MODEL_PRICES is model=in/out."""
        clean_env.setenv("OPENAI_API_KEY", "k")
        clean_env.setenv("OPENAI_MODEL", "b")
        clean_env.setenv("OPENAI_MODELS", " a, b ,c,")
        clean_env.setenv("MODEL_PRICES", "a=0.15/0.6, openai/b=2.5/10")
        settings = load_settings(require_telegram=False, env_file=None).model
        assert settings.models == ("a", "b", "c")
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
        assert load_settings(require_telegram=False, env_file=None).model.openai_api_key is None


@pytest.fixture
def no_bundled_model(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """As on a machine where `make install-local` was never run."""
    clean_env.setattr(local_model, "_BUNDLED_DISTRIBUTION", "no-such-distribution-xyz")
    return clean_env


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    """A file that passes the GGUF check (the model itself is never loaded here)."""
    path = tmp_path / "tiny.gguf"
    path.write_bytes(GGUF_MAGIC + bytes(16))
    return path


class TestModelChoice:
    def test_nothing_configured_and_no_bundled_model(
        self, no_bundled_model: pytest.MonkeyPatch
    ) -> None:
        """No key, no URL, no local extra: one plain problem naming every way out."""
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        [problem] = caught.value.problems
        for way in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LOCAL_MODEL", "make install-local"):
            assert way in problem

    def test_nothing_configured_defaults_to_the_bundled_model(
        self, clean_env: pytest.MonkeyPatch, gguf: Path
    ) -> None:
        """No key and no URL, with the local extra installed: LOCAL_MODEL becomes `bundled`."""
        clean_env.setattr(local_model, "check_available", lambda _value: gguf)
        settings = load_checked_settings(require_telegram=False, env_file=None)
        assert settings.local_model == "bundled"

    def test_a_blank_key_counts_as_unset(self, no_bundled_model: pytest.MonkeyPatch) -> None:
        """`OPENAI_API_KEY=` as copied from .env.example is no key at all."""
        no_bundled_model.setenv("OPENAI_API_KEY", "  ")
        no_bundled_model.setenv("TELEGRAM_BOT_TOKEN", "")
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(env_file=None)
        problems = " ".join(caught.value.problems)
        assert "OPENAI_API_KEY: no model is configured" in problems
        assert "TELEGRAM_BOT_TOKEN: is required" in problems

    def test_a_provider_key_does_not_start_a_local_model(
        self, clean_env: pytest.MonkeyPatch
    ) -> None:
        """With OPENAI_API_KEY set, LOCAL_MODEL stays unset."""
        clean_env.setenv("OPENAI_API_KEY", "k")
        assert load_checked_settings(require_telegram=False, env_file=None).local_model is None

    def test_local_model_and_base_url_conflict(
        self, clean_env: pytest.MonkeyPatch, gguf: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """LOCAL_MODEL and OPENAI_BASE_URL together are ambiguous: a problem."""
        monkeypatch.setattr(local_model, "check_available", lambda _value: gguf)
        clean_env.setenv("LOCAL_MODEL", str(gguf))
        clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        assert caught.value.problems == ["LOCAL_MODEL and OPENAI_BASE_URL: set only one of them"]

    def test_local_model_sizes(
        self, clean_env: pytest.MonkeyPatch, gguf: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A slot's context defaults to MAX_CONTEXT_TOKENS; LOCAL_MODEL_CTX_SIZE overrides it."""
        monkeypatch.setattr(local_model, "check_available", lambda _value: gguf)
        clean_env.setenv("LOCAL_MODEL", str(gguf))
        clean_env.setenv("MAX_CONTEXT_TOKENS", "3000")
        settings = load_checked_settings(require_telegram=False, env_file=None)
        assert (settings.local_slot_context, settings.local.local_model_parallel) == (3000, 2)
        assert settings.local.local_model_threads is None
        clean_env.setenv("LOCAL_MODEL_CTX_SIZE", "1024")
        clean_env.setenv("LOCAL_MODEL_THREADS", "0")
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        assert [p.split(":")[0] for p in caught.value.problems] == ["LOCAL_MODEL_THREADS"]
        clean_env.setenv("LOCAL_MODEL_THREADS", "1")
        assert (
            load_checked_settings(require_telegram=False, env_file=None).local_slot_context == 1024
        )


class TestLocalModelStartup:
    def test_bad_gguf_path_is_reported_with_the_other_problems(self, tmp_path: Path) -> None:
        """A LOCAL_MODEL that does not exist is a configuration problem: listed, exit 2."""
        missing = tmp_path / "models" / "missing.gguf"
        result = run_bot(
            {"TELEGRAM_BOT_TOKEN": "1:t", "LOCAL_MODEL": str(missing), "TEMPERATURE": "7"},
            tmp_path,
        )
        assert result.returncode == 2
        assert f"LOCAL_MODEL: points to {missing}, which does not exist" in result.stderr
        assert "TEMPERATURE" in result.stderr
        assert "Traceback" not in result.stderr

    def test_terminal_chat_refuses_a_file_that_is_not_a_model(self, tmp_path: Path) -> None:
        """`python -m bot chat` checks LOCAL_MODEL the same way, before opening anything."""
        page = tmp_path / "model.gguf"
        page.write_text("<html>404</html>", encoding="utf-8")
        result = run_bot({"LOCAL_MODEL": str(page)}, tmp_path, "chat")
        assert result.returncode == 2
        assert "LOCAL_MODEL: points to" in result.stderr
        assert "not a GGUF model file" in result.stderr
        assert not (tmp_path / "data").exists()
