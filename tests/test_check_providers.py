"""`python -m bot check` with PROVIDERS_FILE: each provider's model list (/models) compared with
the catalogue, a refused key named by its variable, and no key ever printed or logged."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from tests.support.providers import ANTHROPIC_KEY, providers
from tests.test_check import check, line

WRONG_KEY = "sk-ant-wrong-SECRET-0000"


class TestProviders:
    async def test_missing_model_and_refused_key(
        self, bot_env: dict[str, str], tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI
    ) -> None:
        """One provider lacks a model, one refuses its key, one is fine: each said, exit 1."""
        model.known_models = {"gpt-test", "gpt-other"}
        async with providers(model, tmp_path) as found:
            found.local.known_models = {"qwen3:8b", "mistral"}
            result = await check(
                tmp_path, **{**found.env(), "TEST_ANTHROPIC_KEY": WRONG_KEY, "LOG_LEVEL": "DEBUG"}
            )
        assert result.code == 1, result.out + result.err
        assert "serves all 2 configured models" in line(result.out, "provider")
        lines = {text.split()[2]: text for text in result.out.splitlines() if " provider " in text}
        assert lines["openai"].startswith("  ok")
        assert "FAIL" in lines["anthropic"] and "refused its key" in lines["anthropic"]
        assert "fix: set TEST_ANTHROPIC_KEY to a valid key" in result.out
        assert "does not serve llama3.2" in lines["local"]
        assert "fix: use ids it serves in PROVIDERS_FILE: mistral, qwen3:8b" in result.out
        assert "2 of 5 checks failed." in result.out
        for secret in (WRONG_KEY, ANTHROPIC_KEY):
            assert secret not in result.out + result.err
        assert found.anthropic.other_requests[-1].headers["Authorization"] == f"Bearer {WRONG_KEY}"

    async def test_all_served(
        self, bot_env: dict[str, str], tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI
    ) -> None:
        """Every provider serves its models with its key: all checks pass."""
        model.known_models = {"gpt-test", "gpt-other"}
        async with providers(model, tmp_path) as found:
            found.anthropic.known_models = {"claude-sonnet-4-5"}
            found.local.known_models = {"llama3.2"}
            result = await check(tmp_path, **found.env())
        assert result.code == 0, result.out + result.err
        assert "All checks passed." in result.out
        assert ANTHROPIC_KEY not in result.out + result.err
