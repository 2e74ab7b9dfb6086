"""Settings of access, limits, budgets and the fallback model: parsed, validated, kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ENV_NAMES, ConfigError, load_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-primary")
    return monkeypatch


def problems(env: pytest.MonkeyPatch, **values: str) -> list[str]:
    for name, value in values.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(require_telegram=False, env_file=None)
    return caught.value.problems


class TestDefaults:
    def test_open_with_a_rate_limit_and_no_budgets(self, env: pytest.MonkeyPatch) -> None:
        """By default: no allowlist, 20 messages a minute, no budgets, no fallback."""
        s = load_settings(require_telegram=False, env_file=None).limits
        assert s.allowed_user_ids == s.allowed_chat_ids == s.admin_user_ids == frozenset()
        assert (s.rate_limit_messages, s.rate_limit_window_seconds) == (20, 60)
        assert s.group_settings_admins_only is True
        assert s.user_daily_token_limit is None and s.global_monthly_cost_limit is None
        assert load_settings(require_telegram=False, env_file=None).model.fallback_model is None


class TestIds:
    def test_comma_separated_numeric_ids(self, env: pytest.MonkeyPatch) -> None:
        """ALLOWED_USER_IDS, ALLOWED_CHAT_IDS, ADMIN_USER_IDS take ids, group ids negative."""
        env.setenv("ALLOWED_USER_IDS", " 1001, 1002 ,")
        env.setenv("ALLOWED_CHAT_IDS", "-1001234567890")
        env.setenv("ADMIN_USER_IDS", "42")
        s = load_settings(require_telegram=False, env_file=None).limits
        assert s.allowed_user_ids == frozenset({1001, 1002})
        assert s.allowed_chat_ids == frozenset({-1001234567890})
        assert s.admin_user_ids == frozenset({42})

    def test_usernames_are_refused(self, env: pytest.MonkeyPatch) -> None:
        """A username where an id belongs is a configuration error naming the setting."""
        [problem] = problems(env, ALLOWED_USER_IDS="1001,@alice")
        assert problem.startswith("ALLOWED_USER_IDS:") and "@alice" in problem


class TestLimits:
    def test_budgets_parse_and_empty_means_unset(self, env: pytest.MonkeyPatch) -> None:
        """Budgets take numbers; an empty value is no limit."""
        env.setenv("USER_DAILY_TOKEN_LIMIT", "50000")
        env.setenv("USER_MONTHLY_COST_LIMIT", "2.5")
        env.setenv("GLOBAL_MONTHLY_COST_LIMIT", "")
        s = load_settings(require_telegram=False, env_file=None).limits
        assert s.user_daily_token_limit == 50_000 and s.user_monthly_cost_limit == 2.5
        assert s.global_monthly_cost_limit is None

    def test_nonsense_is_reported_together(self, env: pytest.MonkeyPatch) -> None:
        """Negative budgets and a zero window are all reported at once."""
        found = problems(
            env,
            USER_DAILY_COST_LIMIT="-1",
            RATE_LIMIT_WINDOW_SECONDS="0",
            GROUP_SETTINGS_ADMINS_ONLY="maybe",
        )
        names = {p.split(":")[0] for p in found}
        assert names == {
            "USER_DAILY_COST_LIMIT",
            "RATE_LIMIT_WINDOW_SECONDS",
            "GROUP_SETTINGS_ADMINS_ONLY",
        }


class TestFallback:
    def test_endpoint_needs_a_model(self, env: pytest.MonkeyPatch) -> None:
        """FALLBACK_BASE_URL without FALLBACK_MODEL is a configuration error."""
        [problem] = problems(env, FALLBACK_BASE_URL="http://127.0.0.1:9/v1")
        assert "FALLBACK_MODEL" in problem

    def test_key_is_a_secret(self, env: pytest.MonkeyPatch) -> None:
        """FALLBACK_API_KEY never prints and is redacted from logs like the other keys."""
        env.setenv("FALLBACK_MODEL", "backup")
        env.setenv("FALLBACK_API_KEY", "sk-fallback-SECRET")
        s = load_settings(require_telegram=False, env_file=None)
        assert "sk-fallback-SECRET" not in repr(s)
        assert "sk-fallback-SECRET" in s.secrets()

    def test_bad_key_is_not_echoed(self, env: pytest.MonkeyPatch) -> None:
        """A problem with FALLBACK_API_KEY does not show its value."""
        found = problems(env, FALLBACK_API_KEY="sk-x", FALLBACK_BASE_URL="ftp://nope")
        assert all("sk-x" not in p for p in found)


class TestDocumented:
    def test_every_setting_is_in_the_reference_and_the_example(self) -> None:
        """Each setting has a row in docs/configuration.md and a line in .env.example."""
        root = Path(__file__).resolve().parents[1]
        reference = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
        example = (root / ".env.example").read_text(encoding="utf-8")
        for name in ENV_NAMES:
            assert f"| `{name}` |" in reference, name
            assert f"{name}=" in example, name
