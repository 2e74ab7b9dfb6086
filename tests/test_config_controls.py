"""Configuration of the conversation controls: PERSONAS_FILE and the SUMMARY_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ENV_NAMES, ConfigError, load_settings
from bot.startup import load_checked_settings
from tests.support.cli import run_bot


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    return monkeypatch


class TestControlSettings:
    def test_defaults(self, clean_env: pytest.MonkeyPatch) -> None:
        """Shipped personas, summaries on with the chat's model, four turns per fold."""
        settings = load_settings(require_telegram=False, env_file=None)
        assert settings.conversation.personas_file is None
        summary = settings.summary
        assert summary.summary_enabled and summary.summary_model is None
        assert (summary.summary_min_turns, summary.summary_max_tokens) == (4, 400)

    def test_blank_values_mean_unset(self, clean_env: pytest.MonkeyPatch) -> None:
        """PERSONAS_FILE= and SUMMARY_MODEL= left empty in .env mean "not set"."""
        clean_env.setenv("PERSONAS_FILE", " ")
        clean_env.setenv("SUMMARY_MODEL", "")
        settings = load_settings(require_telegram=False, env_file=None)
        assert settings.conversation.personas_file is None
        assert settings.summary.summary_model is None

    def test_bad_personas_file_is_a_config_problem(
        self, clean_env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A personas file with a mistake is reported with the other configuration problems."""
        path = tmp_path / "p.toml"
        path.write_text('[coder]\ndescription = "d"\ntemperature = 9\n', encoding="utf-8")
        clean_env.setenv("PERSONAS_FILE", str(path))
        clean_env.setenv("SUMMARY_MIN_TURNS", "0")
        with pytest.raises(ConfigError) as caught:
            load_checked_settings(require_telegram=False, env_file=None)
        problems = caught.value.problems
        assert any("PERSONAS_FILE" in p and "'coder'" in p and "0 to 2" in p for p in problems)
        assert any("SUMMARY_MIN_TURNS" in p for p in problems)

    def test_missing_personas_file_exits_2(self, tmp_path: Path) -> None:
        """Pointing PERSONAS_FILE at nothing stops the bot at start-up with exit code 2."""
        result = run_bot(
            {"TELEGRAM_BOT_TOKEN": "1:t", "OPENAI_API_KEY": "k", "PERSONAS_FILE": "nope.toml"},
            tmp_path,
        )
        assert result.returncode == 2
        assert "PERSONAS_FILE" in result.stderr and "cannot be read" in result.stderr
