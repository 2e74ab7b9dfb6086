"""How updates arrive: long polling by default, a webhook with a secret when WEBHOOK_URL is set.

In webhook mode our own server (webhook.py) checks the `X-Telegram-Bot-Api-Secret-Token`
header and the body's size before reading the body (403 / 413, and the update is never
processed), puts the update on the application's queue and answers 200 at once; the update is
handled in its own task, so Telegram never waits for the model (it re-sends an update it got
no answer for in ~60 s). Polling is python-telegram-bot's Updater.

With several replicas (PostgreSQL) both put updates in the inbox instead (inbox.py), and in
polling mode the Updater runs only while this replica is the poller (bot/replicas.py).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.config import TelegramSettings
from bot.observability.logs import add_secrets
from bot.telegram.app.build import ALLOWED_UPDATES
from bot.telegram.app.inbox import RecordingSink

if TYPE_CHECKING:  # imported when the webhook starts: polling never loads aiohttp.web
    from bot.telegram.app.webhook import WebhookServer

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Poller(Protocol):
    """Runs `start` only while this replica may poll (bot/replicas.py)."""

    async def run(
        self,
        stop: asyncio.Event,
        start: Callable[[], Awaitable[None]],
        halt: Callable[[], Awaitable[None]],
    ) -> None: ...


def webhook_path(url: str) -> str:
    """The path the bot listens on: the path of WEBHOOK_URL, so a proxy can forward it as is."""
    return urlsplit(url).path or "/"


def webhook_secret(settings: TelegramSettings, *, replicas: bool = False) -> tuple[str, str]:
    """WEBHOOK_SECRET, or one made for this run; and which of the two it is.

    Several replicas (`replicas`) must all check the secret Telegram was last given, so theirs
    is derived from the bot token (an HMAC: the token cannot be read back from it) rather than
    drawn at random by each. Either way it is redacted from every log line
    (python-telegram-bot logs its API calls).
    """
    if settings.webhook_secret is not None:
        secret, origin = settings.webhook_secret.get_secret_value(), "configured"
    elif replicas:
        assert settings.telegram_bot_token is not None
        token = settings.telegram_bot_token.get_secret_value().encode()
        digest = hmac.digest(token, b"telegram-llm-bot webhook secret", "sha256")
        secret, origin = base64.urlsafe_b64encode(digest).decode().rstrip("="), "derived"
    else:
        secret, origin = secrets.token_urlsafe(32), "generated"  # 256 bits, Telegram's alphabet
    add_secrets([secret])
    return secret, origin


class Receiving:
    """Starts and stops receiving updates, and knows whether they are coming in (/healthz)."""

    def __init__(
        self,
        application: AnyApplication,
        sink: RecordingSink | None = None,
        poller: Poller | None = None,
    ) -> None:
        assert application.updater is not None
        self._application = application
        self._sink = sink  # several replicas: updates go to the inbox, not this process's queue
        self._poller = poller  # several replicas, polling: only while this one is the poller
        self._updater = application.updater
        self._webhook: WebhookServer | None = None
        self._polling: asyncio.Task[None] | None = None
        self._stop_polling = asyncio.Event()
        self.mode: str | None = None  # set once updates can arrive

    async def start(self, settings: TelegramSettings) -> dict[str, Any]:
        """Start polling or the webhook; return what to log about it.

        Raises TelegramError when Telegram refuses, OSError when the webhook port is taken.
        """
        if settings.webhook_url is None:
            if self._sink is not None:
                self._sink.polling = True  # no getUpdates (confirming) before it is recorded
                self._updater.update_queue = self._sink  # type: ignore[assignment]
            if self._poller is None:
                await self._poll()
            else:
                self._stop_polling.clear()
                self._polling = asyncio.create_task(
                    self._poller.run(self._stop_polling, self._poll, self._halt), name="poller"
                )
            self.mode = "polling"
            return {"mode": self.mode}
        from bot.telegram.app.webhook import WebhookServer  # noqa: PLC0415 - aiohttp.web

        secret, origin = webhook_secret(settings, replicas=self._sink is not None)
        path = webhook_path(settings.webhook_url)
        bot = self._application.bot
        server = WebhookServer(bot, self._sink or self._application.update_queue, path, secret)
        await server.start(settings.webhook_listen, settings.webhook_port)
        self._webhook = server
        try:
            await bot.set_webhook(
                url=settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        except BaseException:
            await self.stop()
            raise
        self.mode = "webhook"
        return {
            "mode": self.mode,
            "listen": settings.webhook_listen,
            "port": settings.webhook_port,
            "path": path,
            "secret": origin,
        }

    async def _poll(self) -> None:
        await self._updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def _halt(self) -> None:
        if self._updater.running:
            await self._updater.stop()

    async def stop(self) -> None:
        """Stop taking updates (the webhook stays set at Telegram, which keeps new ones)."""
        self.mode = None
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        if self._polling is not None:
            self._stop_polling.set()
            with suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self._halt()

    def problem(self) -> str | None:
        """Why updates are not coming in right now, or None when they are (a replica that
        is not the poller answers what the poller records: it is fine too)."""
        if self.mode is None:
            return "not receiving updates (starting or stopping)"
        if self._polling is not None:
            return "the poller has stopped" if self._polling.done() else None
        running = self._webhook.running if self._webhook else self._updater.running
        if not running:
            return f"{self.mode} has stopped"
        return None
