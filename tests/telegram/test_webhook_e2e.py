"""End to end in webhook mode: the fake Telegram posts updates to the bot's own HTTP server."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.telegram.app.receive import webhook_path
from tests.fakes.openai import Block, FakeOpenAI, Reply
from tests.fakes.telegram import FakeTelegram
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.service import get, private_update, start_until_logged, unused_port

SECRET = "s3cret-Webhook_token-42"


def stored_texts(bot: RunningBot) -> list[str]:
    path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT user_text FROM turns ORDER BY id")]


@pytest.fixture
async def hook(
    logs: LogCapture,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    """The real bot in webhook mode (with WEBHOOK_SECRET set), and its /healthz."""
    port, health = unused_port(), unused_port()
    running = RunningBot(telegram, model, bot_env, monkeypatch)
    await start_until_logged(
        running,
        logs,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=SECRET,
        HEALTH_PORT=str(health),
    )
    try:
        yield running
    finally:
        await running.stop()


class TestWebhookMode:
    async def test_sets_the_webhook_with_the_secret_and_answers(
        self, hook: RunningBot, logs: LogCapture
    ) -> None:
        """The webhook is set with the secret; a posted update is answered; no polling at all."""
        [call] = hook.telegram.calls_of("setWebhook")
        assert call.params["url"] == hook.env["WEBHOOK_URL"]
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == [
            "message",
            "edited_message",
            "callback_query",
            "my_chat_member",
            "stopped_message_generation",
        ]
        status = await hook.telegram.deliver_webhook(private_update(PRIVATE, "hi"), SECRET)
        assert status == 200
        assert await answer_in(hook, PRIVATE) == "echo: hi"
        assert not hook.telegram.calls_of("getUpdates")
        [started] = logs.named("bot_started")
        assert started["mode"] == "webhook" and started["secret"] == "configured"
        assert started["path"] == "/telegram/hook"
        assert SECRET not in logs.text

    @pytest.mark.parametrize("secret", [None, "wrong-secret"])
    async def test_without_the_right_secret_403_and_nothing_processed(
        self, hook: RunningBot, secret: str | None
    ) -> None:
        """A post without the right secret header gets 403 and is never processed."""
        status = await hook.telegram.deliver_webhook(private_update(PRIVATE, "forged"), secret)
        assert status == 403
        assert await hook.telegram.deliver_webhook(private_update(PRIVATE, "real"), SECRET) == 200
        assert await answer_in(hook, PRIVATE) == "echo: real"
        assert [m["content"] for m in hook.model.requests[0].messages][-1] == "real"
        assert len(hook.model.requests) == 1
        assert stored_texts(hook) == ["real"]

    async def test_answers_telegram_before_the_model_finishes(self, hook: RunningBot) -> None:
        """Telegram gets its 200 while the answer is still being generated (in the background)."""
        release = asyncio.Event()
        hook.model.script(Block(release, then=Reply("late answer")))
        status = await hook.telegram.deliver_webhook(private_update(PRIVATE, "slow"), SECRET)
        assert status == 200
        await hook.model.wait_for_requests(1, timeout=10)
        assert hook.telegram.messages(PRIVATE) == []  # still generating after the 200
        release.set()
        assert await answer_in(hook, PRIVATE) == "late answer"

    async def test_health_is_ok_in_webhook_mode(self, hook: RunningBot) -> None:
        """/healthz answers 200 while the webhook server runs."""
        status, body = await get(f"http://127.0.0.1:{hook.env['HEALTH_PORT']}/healthz")
        assert (status, body) == (200, '{"status": "ok"}')

    async def test_polling_again_deletes_the_webhook(
        self, hook: RunningBot, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Restarted without WEBHOOK_URL, the bot removes the webhook and polls."""
        await hook.stop()
        monkeypatch.delenv("WEBHOOK_URL")
        await hook.start()
        assert hook.telegram.calls_of("deleteWebhook")
        assert hook.telegram.webhook_url == ""
        hook.telegram.send_private_text(PRIVATE, "polled")
        assert await answer_in(hook, PRIVATE) == "echo: polled"


class TestGeneratedSecret:
    async def test_a_strong_secret_is_generated_when_unset(
        self,
        logs: LogCapture,
        telegram: FakeTelegram,
        model: FakeOpenAI,
        bot_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Without WEBHOOK_SECRET a random 256-bit secret protects the webhook; it is not logged."""
        port = unused_port()
        running = RunningBot(telegram, model, bot_env, monkeypatch)
        await start_until_logged(
            running, logs, WEBHOOK_URL=f"http://127.0.0.1:{port}/", WEBHOOK_PORT=str(port)
        )
        try:
            secret = telegram.webhook_secret
            assert secret is not None and len(secret) >= 43
            assert await telegram.deliver_webhook(private_update(PRIVATE, "x"), None) == 403
            assert await telegram.deliver_webhook(private_update(PRIVATE, "y"), secret) == 200
            assert await answer_in(running, PRIVATE) == "echo: y"
        finally:
            await running.stop()
        [started] = logs.named("bot_started")
        assert started["secret"] == "generated" and started["path"] == "/"
        assert secret not in logs.text


class TestWebhookPath:
    @pytest.mark.parametrize(
        ("url", "path"),
        [
            ("https://bot.example.org/telegram", "/telegram"),
            ("https://bot.example.org", "/"),
            ("https://bot.example.org:8443/a/b?x=1", "/a/b"),
        ],
    )
    def test_is_the_path_of_the_public_url(self, url: str, path: str) -> None:
        """The bot listens on WEBHOOK_URL's path, so a proxy can forward it unchanged."""
        assert webhook_path(url) == path
