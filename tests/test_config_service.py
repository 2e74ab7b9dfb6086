"""Settings for running as a service (webhook, health server): validated, secrets hidden."""

from __future__ import annotations

import pytest

from bot.config import ENV_NAMES, ConfigError, load_settings

TOKEN = "123456:AAE-service-token-SECRET"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-k")
    return monkeypatch


def problems(env: pytest.MonkeyPatch, **values: str) -> list[str]:
    for name, value in values.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    return caught.value.problems


class TestServiceSettings:
    def test_defaults(self, env: pytest.MonkeyPatch) -> None:
        """Polling; webhook server and health server on loopback; health on 8080."""
        settings = load_settings(env_file=None)
        telegram, service = settings.telegram, settings.service
        assert telegram.webhook_url is None and telegram.webhook_secret is None
        assert (telegram.webhook_listen, telegram.webhook_port) == ("127.0.0.1", 8443)
        assert (service.health_listen, service.health_port) == ("127.0.0.1", 8080)

    def test_webhook_settings_parse(self, env: pytest.MonkeyPatch) -> None:
        """The contract names: WEBHOOK_URL/LISTEN/PORT/SECRET, HEALTH_PORT (0 = off)/LISTEN."""
        for name, value in {
            "WEBHOOK_URL": " https://bot.example.org/telegram ",
            "WEBHOOK_LISTEN": "0.0.0.0",
            "WEBHOOK_PORT": "9000",
            "WEBHOOK_SECRET": "a-Long_enough-secret-0123",
            "HEALTH_PORT": "0",
            "HEALTH_LISTEN": "::1",
        }.items():
            env.setenv(name, value)
        settings = load_settings(env_file=None)
        telegram, service = settings.telegram, settings.service
        assert telegram.webhook_url == "https://bot.example.org/telegram"
        assert (telegram.webhook_listen, telegram.webhook_port) == ("0.0.0.0", 9000)
        assert service.health_port == 0 and service.health_listen == "::1"
        assert "a-Long_enough-secret-0123" in settings.secrets()
        assert "a-Long_enough-secret-0123" not in repr(settings)

    @pytest.mark.parametrize("secret", ["short", "has spaces in it, not allowed", "ümlaut" * 4])
    def test_bad_secret_is_explained_without_showing_it(
        self, env: pytest.MonkeyPatch, secret: str
    ) -> None:
        """A WEBHOOK_SECRET Telegram would refuse (or too short to be safe): named, not shown."""
        [problem] = problems(env, WEBHOOK_SECRET=secret)
        assert problem.startswith("WEBHOOK_SECRET: must be 16 to 256 characters")
        assert secret not in problem

    def test_token_in_the_webhook_url_is_refused(self, env: pytest.MonkeyPatch) -> None:
        """A WEBHOOK_URL that contains the bot token is refused, and the token is not echoed."""
        [problem] = problems(env, WEBHOOK_URL=f"https://bot.example.org/{TOKEN}")
        assert "WEBHOOK_URL must not contain the bot token" in problem
        assert TOKEN not in problem and "service-token" not in problem

    @pytest.mark.parametrize(
        ("name", "value"),
        [("WEBHOOK_URL", "bot.example.org/hook"), ("WEBHOOK_PORT", "0"), ("HEALTH_PORT", "70000")],
    )
    def test_invalid_values(self, env: pytest.MonkeyPatch, name: str, value: str) -> None:
        """A URL without https://, a port out of range: named in the problem."""
        [problem] = problems(env, **{name: value})
        assert problem.startswith(f"{name}:")


class TestDatabaseSettings:
    def test_postgres_url_selects_postgres_and_its_password_is_a_secret(
        self, env: pytest.MonkeyPatch
    ) -> None:
        """DATABASE_URL=postgresql://... is accepted; its password is redacted from logs and
        from what `check` shows; the SQLite defaults stay for local files."""
        env.setenv("DATABASE_URL", "postgresql://bot:pg-Secret-9@db.internal:5432/bot")
        env.setenv("REDIS_URL", "redis://:redis-Secret-7@cache:6379/0")
        settings = load_settings(env_file=None)
        assert settings.service.on_postgres
        assert "pg-Secret-9" in settings.secrets() and "redis-Secret-7" in settings.secrets()
        assert "pg-Secret-9" not in settings.service.database_shown
        assert settings.service.data_dir.name == "data"
        assert settings.database.redis_url == "redis://:redis-Secret-7@cache:6379/0"

    def test_sqlite_stays_the_default(self, env: pytest.MonkeyPatch) -> None:
        """Unset: the SQLite file of today, no Redis, a replica id of host and pid."""
        settings = load_settings(env_file=None)
        assert not settings.service.on_postgres
        assert settings.service.database_shown == "data/bot.db"
        assert settings.database.redis_url is None
        assert settings.database.replica_id

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DATABASE_URL", "mysql://bot@db/bot"),
            ("REDIS_URL", "memcached://cache"),
            ("DATABASE_POOL_SIZE", "0"),
            ("REDIS_KEY_PREFIX", "has space"),
        ],
    )
    def test_invalid_values(self, env: pytest.MonkeyPatch, name: str, value: str) -> None:
        """Another database, a URL that is not Redis, an empty pool, a bad prefix: named."""
        [problem] = problems(env, **{name: value})
        assert problem.startswith(f"{name}:")
