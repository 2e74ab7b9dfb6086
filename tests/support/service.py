"""Helpers for tests of the bot as a service: its HTTP endpoints, metrics, and webhook mode."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.telegram.app.run import serve
from tests.fakes._server import unused_port
from tests.support.running import LogCapture, RunningBot

__all__ = ["MetricsSnapshot", "get", "private_update", "start_until_logged", "unused_port"]


async def get(url: str) -> tuple[int, str]:
    """GET a URL on 127.0.0.1; (status, body)."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


class MetricsSnapshot:
    """The samples of one /metrics scrape, by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    @classmethod
    async def scrape(cls, origin: str) -> MetricsSnapshot:
        status, body = await get(f"{origin}/metrics")
        assert status == 200
        return cls(body)

    def value(self, name: str, **labels: str) -> float:
        """The sample's value (0 when it does not exist yet: counters start at nothing)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def delta(self, before: MetricsSnapshot, name: str, **labels: str) -> float:
        """How much a sample moved since `before` (metrics are process-wide: tests use deltas)."""
        return self.value(name, **labels) - before.value(name, **labels)


def private_update(chat_id: int, text: str, first_name: str = "Alice") -> dict[str, Any]:
    """A private text message as Telegram posts it to a webhook (update_id added on delivery)."""
    user = {"id": chat_id, "is_bot": False, "first_name": first_name}
    chat = {"id": chat_id, "type": "private", "first_name": first_name}
    message = {"date": int(time.time()), "chat": chat, "from": user, "text": text}
    return {"message": message}


async def start_until_logged(
    running: RunningBot, logs: LogCapture, timeout: float = 20, **overrides: str
) -> None:
    """Start the bot (any mode) and wait for its `bot_started` event."""
    for name, value in overrides.items():
        running.env[name] = value
        running.monkeypatch.setenv(name, value)
    before = len(logs.named("bot_started"))
    running.stop_event = asyncio.Event()
    running.task = asyncio.create_task(serve(running.settings, running.stop_event))
    deadline = asyncio.get_running_loop().time() + timeout
    while len(logs.named("bot_started")) <= before:
        if running.task.done():
            running.task.result()
            raise AssertionError("the bot stopped before it started")
        assert asyncio.get_running_loop().time() < deadline, "the bot did not start"
        await asyncio.sleep(0.01)
