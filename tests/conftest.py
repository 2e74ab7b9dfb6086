"""Shared fixtures: the fake Telegram and OpenAI servers, and the real bot running against them."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog

from bot.config import ENV_NAMES, Settings
from bot.observability.logs import configure_logging
from bot.telegram.app.run import serve
from bot.wiring import load_checked_settings
from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:AAE-fake-telegram-token-SECRET"
API_KEY = "sk-fake-openai-key-SECRET-42"


class LogCapture:
    """Every log line the bot wrote during a test, as rendered (JSON) and parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    async def wait_for(
        self, event: str, count: int = 1, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Wait until `event` was logged `count` times (it may follow the visible answer)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.named(event)) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{event} was not logged"
            await asyncio.sleep(0.01)
        return found


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


@dataclass
class RunningBot:
    """The real bot, running in this event loop against the fakes."""

    telegram: FakeTelegram
    model: FakeOpenAI
    env: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    task: asyncio.Task[None] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Callable[[], float] = time.time  # Unix time as the bot sees it (tests may fake it)

    @property
    def settings(self) -> Settings:
        return load_checked_settings(env_file=None)

    async def start(self, **overrides: str) -> None:
        for name, value in overrides.items():
            self.env[name] = value
            self.monkeypatch.setenv(name, value)
        self.stop_event = asyncio.Event()
        polls = len(self.telegram.calls_of("getUpdates"))
        self.task = asyncio.create_task(serve(self.settings, self.stop_event, clock=self.clock))
        # Generous: with LOCAL_MODEL the bot first starts llama.cpp on a busy machine.
        deadline = asyncio.get_running_loop().time() + 60
        while len(self.telegram.calls_of("getUpdates")) <= polls:
            if self.task.done():
                self.task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the bot did not start polling")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.task is None:
            return
        self.stop_event.set()
        await asyncio.wait_for(self.task, 20)
        self.task = None

    async def restart(self, **overrides: str) -> None:
        await self.stop()
        await self.start(**overrides)


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
