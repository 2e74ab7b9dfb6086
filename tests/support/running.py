"""The real bot running in the test's event loop against the fakes, and the log lines it wrote."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.config import Settings
from bot.startup import load_checked_settings
from bot.telegram.app.run import serve
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
