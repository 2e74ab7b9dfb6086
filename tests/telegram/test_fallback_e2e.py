"""End to end: FALLBACK_MODEL answers when the primary is down, never when it is misconfigured."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from bot.engine import errors
from tests.fakes.openai import Error, FakeOpenAI, Hang
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot

FALLBACK_KEY = "sk-fallback-key-SECRET-77"


async def ask(bot: RunningBot, text: str = "question") -> str:
    bot.telegram.send_private_text(PRIVATE, text)
    return await answer_in(bot, PRIVATE, timeout=30)


def usage_models(bot: RunningBot) -> list[str]:
    path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT model FROM usage ORDER BY id")]


@pytest.fixture
async def second_provider() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=FALLBACK_KEY) as fake:
        yield fake


class TestSameEndpoint:
    ENV: ClassVar[dict[str, str]] = {"FALLBACK_MODEL": "gpt-fallback", "OPENAI_MAX_RETRIES": "1"}

    async def test_used_after_primary_5xx(self, bot: RunningBot, logs: LogCapture) -> None:
        """A primary that keeps answering 500 is replaced by the fallback; the user just sees it."""
        bot.model.script(Error(500, "down"), Error(500, "down"))
        assert await ask(bot) == "echo: question"
        assert [r.model for r in bot.model.requests] == ["gpt-test", "gpt-test", "gpt-fallback"]
        [used] = logs.named("fallback_used")
        assert used["model"] == "gpt-test" and used["fallback_model"] == "gpt-fallback"
        assert used["error_type"] == "unavailable" and used["primary_attempts"] == 2
        [done] = await logs.wait_for("reply_finished")
        assert done["outcome"] == "answered" and done["model"] == "gpt-fallback"
        assert done["attempts"] == 3
        assert usage_models(bot) == ["gpt-fallback"]

    async def test_used_after_primary_timeout(self, bot: RunningBot, logs: LogCapture) -> None:
        """A primary that times out is replaced by the fallback."""
        await bot.restart(OPENAI_TIMEOUT="0.5")
        bot.model.script(Hang(3), Hang(3))
        assert await ask(bot) == "echo: question"
        assert bot.model.requests[-1].model == "gpt-fallback"
        assert logs.named("fallback_used")[0]["error_type"] == "timeout"

    async def test_used_after_primary_rate_limit(self, bot: RunningBot, logs: LogCapture) -> None:
        """A primary still rate limited after its retries is replaced by the fallback."""
        busy = Error(429, "slow down", headers={"retry-after": "0"})
        bot.model.script(busy, busy)
        assert await ask(bot) == "echo: question"
        assert logs.named("fallback_used")[0]["error_type"] == "rate_limited"

    @pytest.mark.parametrize(
        ("status", "code", "message"),
        [
            (401, "invalid_api_key", errors.ModelAuthError.user_message),
            (403, "forbidden", errors.ModelAuthError.user_message),
            (404, "model_not_found", errors.ModelNotFound.user_message),
        ],
    )
    async def test_not_used_on_configuration_errors(
        self, bot: RunningBot, logs: LogCapture, status: int, code: str, message: str
    ) -> None:
        """401/403/404 of the primary are reported and logged as errors, not hidden."""
        bot.model.script(Error(status, "no", code=code))
        assert await ask(bot) == message
        assert [r.model for r in bot.model.requests] == ["gpt-test"]
        assert logs.named("fallback_used") == []
        [config] = logs.named("model_config_error")
        assert config["level"] == "error" and config["model"] == "gpt-test"

    async def test_both_failing_ends_with_one_message(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """When the fallback fails too, the user gets one short message; all attempts count."""
        bot.model.script(*[Error(503, "overloaded")] * 4)
        assert await ask(bot) == errors.ModelUnavailable.user_message
        assert len(bot.model.requests) == 4
        [done] = await logs.wait_for("reply_finished")
        assert done["outcome"] == "failed" and done["attempts"] == 4


class TestOwnEndpoint:
    ENV: ClassVar[dict[str, str]] = {"FALLBACK_MODEL": "backup-model", "OPENAI_MAX_RETRIES": "0"}

    async def test_fallback_on_its_own_endpoint_and_key(
        self, bot: RunningBot, logs: LogCapture, second_provider: FakeOpenAI
    ) -> None:
        """FALLBACK_BASE_URL and FALLBACK_API_KEY send the fallback to another provider."""
        await bot.restart(FALLBACK_BASE_URL=second_provider.base_url, FALLBACK_API_KEY=FALLBACK_KEY)
        bot.model.script(Error(502, "bad gateway"))
        assert await ask(bot) == "echo: question"
        [request] = second_provider.requests
        assert request.model == "backup-model"
        assert request.headers["Authorization"] == f"Bearer {FALLBACK_KEY}"
        assert [r.model for r in bot.model.requests] == ["gpt-test"]
        assert FALLBACK_KEY not in logs.text
        assert logs.named("fallback_used")

    async def test_primary_used_again_when_healthy(
        self, bot: RunningBot, second_provider: FakeOpenAI
    ) -> None:
        """The next message goes to the primary again once it answers."""
        await bot.restart(FALLBACK_BASE_URL=second_provider.base_url, FALLBACK_API_KEY=FALLBACK_KEY)
        bot.model.script(Error(500, "down"))
        await ask(bot, "one")
        bot.telegram.send_private_text(PRIVATE, "two")
        assert await answer_in(bot, PRIVATE, 2, timeout=30) == "echo: two"
        assert [r.model for r in bot.model.requests] == ["gpt-test", "gpt-test"]
        assert len(second_provider.requests) == 1
