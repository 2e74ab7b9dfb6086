"""/healthz over HTTP: 200 when updates come in and the database answers, 503 with a reason."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3

import pytest

from bot.storage.sqlite import Database
from bot.telegram.app.run import StartupError
from tests.support.running import LogCapture, RunningBot
from tests.support.service import get, unused_port


@pytest.fixture
async def health(bot: RunningBot) -> str:
    """The bot restarted with its health server on a free port; the server's origin."""
    port = unused_port()
    await bot.restart(HEALTH_PORT=str(port))
    return f"http://127.0.0.1:{port}"


class TestHealthz:
    async def test_ok_while_polling(self, health: str) -> None:
        """Polling and a working database: 200 {"status": "ok"}."""
        status, body = await get(f"{health}/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}

    async def test_503_when_the_database_is_unavailable(
        self, health: str, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A database that fails: 503 with the reason, and a health_check_failed warning."""

        async def broken(_self: Database) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(Database, "ping", broken)
        status, body = await get(f"{health}/healthz")
        assert status == 503
        assert json.loads(body) == {
            "status": "unavailable",
            "reason": "the database is unavailable (OperationalError)",
        }
        [event] = logs.named("health_check_failed")
        assert event["level"] == "warning" and "database" in event["reason"]
        monkeypatch.undo()
        assert (await get(f"{health}/healthz"))[0] == 200

    async def test_503_until_updates_come_in(self, bot: RunningBot) -> None:
        """While the bot is still starting (Telegram slow to answer), /healthz says 503."""
        await bot.stop()
        port = unused_port()
        release = bot.telegram.block_method("getMe")
        since = len(bot.telegram.calls)
        starting = asyncio.create_task(bot.start(HEALTH_PORT=str(port)))
        try:
            await bot.telegram.wait_for_call("getMe", timeout=10, since=since)
            status, body = await get(f"http://127.0.0.1:{port}/healthz")
            assert status == 503
            assert json.loads(body)["reason"] == "not receiving updates (starting or stopping)"
        finally:
            release.set()
            await starting
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200

    async def test_unknown_path_is_404(self, health: str) -> None:
        """Only /healthz and /metrics are served."""
        assert (await get(f"{health}/"))[0] == 404


class TestHealthServerStartup:
    async def test_a_taken_port_is_a_clear_startup_error(self, bot: RunningBot) -> None:
        """HEALTH_PORT in use: the bot does not start and says which address and what to do."""
        await bot.stop()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with pytest.raises(StartupError, match=rf"127\.0\.0\.1:{port}.*HEALTH_PORT"):
                await bot.start(HEALTH_PORT=str(port))
        bot.task = None  # it ended with that error
