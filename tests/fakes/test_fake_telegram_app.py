"""A real python-telegram-bot Application polling FakeTelegram end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import MessageEntity, Update
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fakes.telegram import FakeTelegram

CHAT = 42


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    bold = MessageEntity(MessageEntity.BOLD, offset=0, length=5)
    await update.effective_message.reply_text("Hello, friend", entities=[bold], do_quote=True)


@pytest.fixture
async def polling_app(fake_tg: FakeTelegram) -> AsyncIterator[Application]:
    """An Application with a /start handler, polling fake_tg."""
    app = Application.builder().token(fake_tg.token).base_url(fake_tg.base_url).build()
    app.add_handler(CommandHandler("start", _start))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await app.start()
        yield app
        await app.updater.stop()
        await app.stop()


class TestPolling:
    async def test_command_gets_a_reply(
        self, fake_tg: FakeTelegram, polling_app: Application
    ) -> None:
        """/start pushed to the fake is polled, handled and answered with its entities."""
        update = fake_tg.send_private_text(CHAT, "/start")
        call = await fake_tg.wait_for_call("sendMessage", lambda c: c.chat_id == CHAT)
        assert call.params["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
        reply = fake_tg.messages(CHAT)[0]
        assert (reply.text, reply.reply_to_message_id) == (
            "Hello, friend",
            update["message"]["message_id"],
        )

    async def test_polled_updates_are_confirmed(
        self, fake_tg: FakeTelegram, polling_app: Application
    ) -> None:
        """After handling, the next getUpdates offset confirms the update away."""
        fake_tg.send_private_text(CHAT, "/start")
        await fake_tg.wait_for_call("sendMessage")
        since = len(fake_tg.calls)
        await fake_tg.wait_for_call("getUpdates", since=since)
        assert fake_tg.pending_updates() == []
