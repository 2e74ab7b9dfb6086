"""How updates arrive: long polling by default, a webhook with a secret when WEBHOOK_URL is set.

In webhook mode our own server (webhook.py) checks the `X-Telegram-Bot-Api-Secret-Token`
header and the body's size before reading the body (403 / 413, and the update is never
processed), puts the update on the application's queue and answers 200 at once; the update is
handled in its own task, so Telegram never waits for the model (it re-sends an update it got
no answer for in ~60 s). Polling is python-telegram-bot's Updater.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.config import TelegramSettings
from bot.observability.logs import add_secrets
from bot.telegram.app.build import ALLOWED_UPDATES
from bot.telegram.app.inbox import Inbox, RecordingQueue
from bot.telegram.app.webhook import WebhookServer

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def webhook_path(url: str) -> str:
    """The path the bot listens on: the path of WEBHOOK_URL, so a proxy can forward it as is."""
    return urlsplit(url).path or "/"


def webhook_secret(settings: TelegramSettings) -> tuple[str, str]:
    """WEBHOOK_SECRET, or a strong one made for this run; and which of the two it is.

    Either way it is redacted from every log line (python-telegram-bot logs its API calls).
    """
    if settings.webhook_secret is not None:
        secret, origin = settings.webhook_secret.get_secret_value(), "configured"
    else:
        secret, origin = secrets.token_urlsafe(32), "generated"  # 256 bits, Telegram's alphabet
    add_secrets([secret])
    return secret, origin


class Receiving:
    """Starts and stops receiving updates, and knows whether they are coming in (/healthz)."""

    def __init__(self, application: AnyApplication, inbox: Inbox | None = None) -> None:
        assert application.updater is not None
        self._application = application
        self._inbox = inbox  # webhook updates are recorded there before the 200
        self._updater = application.updater
        self._webhook: WebhookServer | None = None
        self.mode: str | None = None  # set once updates can arrive

    async def start(self, settings: TelegramSettings) -> dict[str, Any]:
        """Start polling or the webhook; return what to log about it.

        Raises TelegramError when Telegram refuses, OSError when the webhook port is taken.
        """
        if settings.webhook_url is None:
            await self._updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            self.mode = "polling"
            return {"mode": self.mode}
        secret, origin = webhook_secret(settings)
        path = webhook_path(settings.webhook_url)
        bot = self._application.bot
        queue = self._application.update_queue
        sink = queue if self._inbox is None else RecordingQueue(self._inbox, queue)
        server = WebhookServer(bot, sink, path, secret)
        server.listen(settings.webhook_listen, settings.webhook_port)
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

    async def stop(self) -> None:
        """Stop taking updates (the webhook stays set at Telegram, which keeps new ones)."""
        self.mode = None
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        if self._updater.running:
            await self._updater.stop()

    def problem(self) -> str | None:
        """Why updates are not coming in right now, or None when they are."""
        if self.mode is None:
            return "not receiving updates (starting or stopping)"
        running = self._webhook.running if self._webhook else self._updater.running
        if not running:
            return f"{self.mode} has stopped"
        return None
