"""FakeTelegram's updates, webhook, documents, callbacks and chat info, through real clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from tests.fakes._server import FakeServer
from tests.fakes.telegram import FakeTelegram

CHAT = 42
GROUP = -1001234


class _Receiver(FakeServer):
    """A webhook endpoint that records what it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((await request.json(), secret))
        return web.Response(status=200 if secret == "s3cret" else 403)


class TestGetUpdates:
    async def test_pushed_updates_arrive_in_order(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Builders push updates PTB de-serialises, with a bot_command entity for /commands."""
        fake_tg.send_private_text(CHAT, "/start")
        fake_tg.send_group_text(GROUP, "@test_llm_bot hi", user_id=7, first_name="Bob")
        first, second = await ptb_bot.get_updates(timeout=0)
        assert first.message is not None and second.message is not None
        assert first.message.entities[0].type == "bot_command"
        assert second.effective_chat is not None and second.effective_chat.type == "supergroup"
        assert second.message.entities[0].type == "mention"

    async def test_any_message_kind_can_be_pushed(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """send_private_update carries arbitrary fields such as a voice note."""
        voice = {"file_id": "v1", "file_unique_id": "u1", "duration": 3}
        fake_tg.send_private_update(CHAT, {"voice": voice, "caption": "listen"})
        (update,) = await ptb_bot.get_updates(timeout=0)
        assert update.message is not None and update.message.voice is not None
        assert update.message.voice.file_id == "v1"

    async def test_reply_with_a_quote(self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot) -> None:
        """A reply to another member's message carries it, and a quote its UTF-16 position."""
        bobs = fake_tg.send_group_text(GROUP, "😀 one two", user_id=8, first_name="Bob")
        fake_tg.send_group_text(
            GROUP, "@test_llm_bot ?", user_id=7, reply_to_message=bobs, quote="two"
        )
        _, update = await ptb_bot.get_updates(timeout=0)
        message = update.message
        assert message is not None and message.reply_to_message is not None
        assert message.reply_to_message.text == "😀 one two"
        assert message.quote is not None
        assert (message.quote.text, message.quote.position) == ("two", 7)
        with pytest.raises(ValueError, match="part of the replied message"):
            fake_tg.send_group_text(GROUP, "?", user_id=7, reply_to_message=bobs, quote="three")

    async def test_offset_confirms_and_limit_caps(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Updates below the offset are forgotten; limit returns only the first ones."""
        ids = [fake_tg.send_private_text(CHAT, str(n))["update_id"] for n in range(3)]
        assert len(await ptb_bot.get_updates(limit=2, timeout=0)) == 2
        rest = await ptb_bot.get_updates(offset=ids[1] + 1, timeout=0)
        assert [u.update_id for u in rest] == [ids[2]]

    async def test_long_poll_returns_as_soon_as_an_update_comes(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A waiting getUpdates answers right after push_update."""
        asyncio.get_running_loop().call_later(0.05, fake_tg.send_private_text, CHAT, "late")
        started = time.monotonic()
        updates = await ptb_bot.get_updates(timeout=10)
        assert len(updates) == 1 and time.monotonic() - started < 0.25

    async def test_long_poll_is_capped(self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot) -> None:
        """With nothing to deliver the real wait is long_poll_cap, not the requested timeout."""
        started = time.monotonic()
        assert await ptb_bot.get_updates(timeout=10) == ()
        assert 0.25 < time.monotonic() - started < 1.0

    async def test_allowed_updates_filters_types(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Only the allowed update types are returned."""
        fake_tg.send_private_text(CHAT, "text")
        fake_tg.push_callback_query(CHAT, CHAT, "data")
        updates = await ptb_bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        assert [u.callback_query is not None for u in updates] == [True]

    async def test_get_updates_conflicts_with_a_webhook(self, ptb_bot: telegram.Bot) -> None:
        """While a webhook is set getUpdates is a 409 Conflict."""
        await ptb_bot.set_webhook("http://127.0.0.1:9/hook")
        with pytest.raises(Conflict):
            await ptb_bot.get_updates(timeout=0)


class TestWebhook:
    async def test_deliver_posts_the_update_with_the_secret(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """deliver_webhook POSTs JSON with the secret header and returns the HTTP status."""
        async with _Receiver() as receiver:
            url = f"{receiver.origin}/hook"
            await ptb_bot.set_webhook(url, secret_token="s3cret")
            assert (await ptb_bot.get_webhook_info()).url == url
            update = {"message": {"chat": {"id": CHAT, "type": "private"}, "text": "hi"}}
            assert await fake_tg.deliver_webhook(update, "s3cret") == 200
            assert await fake_tg.deliver_webhook(update, None) == 403
        body, secret = receiver.received[0]
        assert secret == "s3cret" and body["message"]["message_id"] == 1


class TestOtherMethods:
    async def test_document_upload_keeps_bytes(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """sendDocument's multipart file is stored with its name; the caption is checked."""
        bold = telegram.MessageEntity(telegram.MessageEntity.BOLD, offset=0, length=1)
        sent = await ptb_bot.send_document(CHAT, b"data", filename="log.txt", caption="c",
                                           caption_entities=[bold])  # fmt: skip
        assert sent.document is not None and sent.document.file_name == "log.txt"
        stored = fake_tg.messages(CHAT)[-1]
        assert stored.document is not None and not isinstance(stored.document, str)
        assert (stored.document.content, stored.text) == (b"data", "c")

    async def test_callback_query_is_answered_once(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """answerCallbackQuery works for a pushed query, then the id is spent."""
        sent = await ptb_bot.send_message(CHAT, "pick", reply_markup=telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("A", callback_data="a")]]))  # fmt: skip
        update = fake_tg.push_callback_query(CHAT, CHAT, "a", message=sent.message_id)
        assert update["callback_query"]["message"] == fake_tg.message_dict(CHAT, sent.message_id)
        assert update["callback_query"]["message"]["message_id"] == sent.message_id
        query_id = update["callback_query"]["id"]
        assert await ptb_bot.answer_callback_query(query_id, text="ok")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await ptb_bot.answer_callback_query(query_id)

    async def test_chat_admins_are_configurable(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Nobody is an admin until set_chat_admins names them."""
        assert await ptb_bot.get_chat_administrators(GROUP) == ()
        fake_tg.set_chat_admins(GROUP, [7])
        member = await ptb_bot.get_chat_member(GROUP, 7)
        assert member.status == "administrator"
        assert (await ptb_bot.get_chat_member(GROUP, 8)).status == "member"

    async def test_commands_round_trip(self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot) -> None:
        """setMyCommands is stored per scope; getMyCommands and deleteMyCommands follow it."""
        await ptb_bot.set_my_commands([("start", "Start"), ("reset", "Forget the chat")])
        assert [c.command for c in await ptb_bot.get_my_commands()] == ["start", "reset"]
        assert fake_tg.commands()[0] == {"command": "start", "description": "Start"}
        await ptb_bot.delete_my_commands()
        assert await ptb_bot.get_my_commands() == ()
        with pytest.raises(BadRequest):
            await ptb_bot.set_my_commands([("Start", "capital letters are invalid")])
