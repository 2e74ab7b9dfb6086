"""Shared fixtures: the fake Telegram and OpenAI servers, and the real bot running against them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from bot.config import ENV_NAMES
from bot.observability.logs import configure_logging
from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from tests.support.running import API_KEY, TOKEN, LogCapture, RunningBot
from tests.support.services import summary_line


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end when PostgreSQL/Redis tests were skipped for want of a server."""
    line = summary_line()
    if line is not None:
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    configure_logging(level="DEBUG", fmt="json", secrets=[TOKEN, API_KEY], stream=capture.stream)
    yield capture
    structlog.contextvars.clear_contextvars()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def bot_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI
) -> dict[str, str]:
    """The environment the bot runs with; tests may change it before starting the bot."""
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "OPENAI_MODELS": "gpt-test,gpt-other,big-model",
        "OPENAI_RETRY_MAX_SECONDS": "5",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SHUTDOWN_GRACE_SECONDS": "3",
        "LOG_LEVEL": "DEBUG",
        "HEALTH_PORT": "0",  # tests that want /healthz pick a free port
        # Summary calls would interleave with the requests other tests assert on; the
        # summary's own tests turn it on.
        "SUMMARY_ENABLED": "false",
    }
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def bot(
    logs: LogCapture,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    running = RunningBot(telegram, model, bot_env, monkeypatch)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
