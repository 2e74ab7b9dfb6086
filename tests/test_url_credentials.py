"""Credentials inside OPENAI_BASE_URL, FALLBACK_BASE_URL and TELEGRAM_BASE_URL (`user:pass@`,
`?key=`) are never printed: not by `check`, not in configuration errors, not in log lines."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.check import main as check_main
from bot.config import redact_url
from bot.config.values import url_secrets
from bot.startup import load_checked_settings
from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from tests.test_check import check

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "pw-Hidden-7351"
QUERY_KEY = "qk-Hidden-9024"


def with_credentials(url: str) -> str:
    """`url` with a user:password and a secret query parameter inside."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{PASSWORD}@{rest}?api-version=1&key={QUERY_KEY}"


class TestRedactUrl:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            (
                "https://alice:pw@api.example.org/v1?api-version=2&key=k1",
                "https://[REDACTED]@api.example.org/v1?api-version=2&key=[REDACTED]",
            ),
            ("https://tok-abc@api.example.org/v1", "https://[REDACTED]@api.example.org/v1"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
            ("https://x.org/v1?token=t&sig=s", "https://x.org/v1?token=[REDACTED]&sig=[REDACTED]"),
        ],
    )
    def test_shown_without_credentials(self, url: str, shown: str) -> None:
        """The user info and key-like query values go; the rest (where it points) stays."""
        assert redact_url(url) == shown

    def test_secrets_are_the_password_and_key_values(self) -> None:
        """A username with a password is not secret (it would redact common words); a lone
        username is (`token@host`); query values named like keys are; others are not."""
        assert set(url_secrets("https://alice:p%40ss@h/v1?api-version=2&apikey=k123")) == {
            "p@ss", "p%40ss", "k123",
        }  # fmt: skip
        assert url_secrets("https://tok123@h/v1") == ["tok123", "tok123"]
        assert url_secrets(None) == []


class TestNeverPrinted:
    async def test_check_redacts_both_base_urls(
        self, bot_env: dict[str, str], tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI
    ) -> None:
        """`check` names where it went without the credentials in the URLs."""
        result = await check(
            tmp_path,
            OPENAI_BASE_URL=with_credentials(model.base_url),
            TELEGRAM_BASE_URL=with_credentials(telegram.base_url),
        )
        printed = result.out + result.err
        assert PASSWORD not in printed and QUERY_KEY not in printed
        assert "[REDACTED]@127.0.0.1" in printed

    @pytest.mark.parametrize("name", ["OPENAI_BASE_URL", "FALLBACK_BASE_URL", "TELEGRAM_BASE_URL"])
    def test_configuration_errors_redact_the_value(
        self,
        bot_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        name: str,
    ) -> None:
        """An invalid URL is reported with what was got, minus its credentials."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv(name, f"ftp://alice:{PASSWORD}@example.org/v1?key={QUERY_KEY}")
        monkeypatch.setenv("FALLBACK_MODEL", "other")
        out = io.StringIO()
        assert check_main(out) == 1
        assert f"FAIL  configuration  {name}" in out.getvalue()
        assert PASSWORD not in out.getvalue() and QUERY_KEY not in out.getvalue()
        assert "[REDACTED]@example.org" in out.getvalue()

    def test_run_prints_no_credentials_on_a_configuration_error(
        self, bot_env: dict[str, str], tmp_path: Path
    ) -> None:
        """`python -m bot run` with a bad URL: exit 2, the problem named, the password not."""
        env = {**bot_env, "OPENAI_BASE_URL": f"ftp://u:{PASSWORD}@x.org/", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 2
        assert "OPENAI_BASE_URL" in done.stderr and PASSWORD not in done.stderr + done.stdout

    def test_url_secrets_are_redacted_from_logs(
        self, bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, model: FakeOpenAI
    ) -> None:
        """The settings hand the credentials of every base URL to the log redactor."""
        monkeypatch.setenv("OPENAI_BASE_URL", with_credentials(model.base_url))
        monkeypatch.setenv("FALLBACK_MODEL", "other")
        monkeypatch.setenv("FALLBACK_BASE_URL", "https://fb-token-5521@fallback.example/v1")
        secrets = load_checked_settings(env_file=None).secrets()
        assert {PASSWORD, QUERY_KEY, "fb-token-5521"} <= set(secrets)
