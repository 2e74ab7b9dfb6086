"""FakeTelegram driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.fakes.telegram import ApiCall, ApiError, FakeTelegram

CHAT = 42
GROUP = -1001234


def bold(offset: int, length: int) -> telegram.MessageEntity:
    """A bold entity (the bot formats with entities, never with parse_mode)."""
    return telegram.MessageEntity(telegram.MessageEntity.BOLD, offset=offset, length=length)


class TestConnection:
    async def test_get_me_describes_the_bot(self, ptb_bot: telegram.Bot) -> None:
        """initialize() calls getMe and PTB sees the configured bot."""
        me = await ptb_bot.get_me()
        assert (me.id, me.username, me.is_bot) == (123456, "test_llm_bot", True)
        assert me.can_read_all_group_messages is False

    async def test_wrong_token_is_unauthorized(self, fake_tg: FakeTelegram) -> None:
        """A token other than the fake's gets 401, which PTB reports as InvalidToken."""
        bot = telegram.Bot("999:WRONG", base_url=fake_tg.base_url)
        with pytest.raises(InvalidToken):
            await bot.initialize()
        await bot.shutdown()

    async def test_unknown_method_is_not_found(self, ptb_bot: telegram.Bot) -> None:
        """A method the fake does not implement answers 404 Not Found."""
        with pytest.raises(EndPointNotFound):
            await ptb_bot.do_api_request("frobnicate", api_kwargs={"chat_id": CHAT})

    async def test_calls_are_recorded_with_decoded_params(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Form fields holding JSON (reply_parameters) arrive decoded; ints stay ints."""
        update = fake_tg.send_private_text(CHAT, "hi")
        await ptb_bot.send_message(CHAT, "123", reply_to_message_id=update["message"]["message_id"])
        call = fake_tg.calls_of("sendMessage", chat_id=CHAT)[0]
        assert call.params["text"] == "123"
        assert call.params["chat_id"] == CHAT
        assert call.params["reply_parameters"] == {"message_id": update["message"]["message_id"]}


class TestSendMessage:
    async def test_too_long_text_is_rejected(self, ptb_bot: telegram.Bot) -> None:
        """More than 4096 UTF-16 units is 'message is too long'."""
        await ptb_bot.send_message(CHAT, "x" * 4096, entities=[bold(0, 4096)])
        with pytest.raises(BadRequest, match="too long"):
            await ptb_bot.send_message(CHAT, "😀" * 2049)

    async def test_empty_text_is_rejected(self, ptb_bot: telegram.Bot) -> None:
        """Text of nothing but whitespace is 'message text is empty'."""
        with pytest.raises(BadRequest, match="text is empty"):
            await ptb_bot.send_message(CHAT, " ", entities=[bold(0, 1)])

    async def test_entities_beyond_the_text_are_rejected(self, ptb_bot: telegram.Bot) -> None:
        """An explicit entity must end within the text, measured in UTF-16."""
        entity = telegram.MessageEntity(telegram.MessageEntity.BOLD, offset=1, length=2)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await ptb_bot.send_message(CHAT, "😀", entities=[entity])

    async def test_reply_to_an_unknown_message_fails(self, ptb_bot: telegram.Bot) -> None:
        """Replying to a message the chat never had is 'message to be replied not found'."""
        with pytest.raises(BadRequest, match="replied not found"):
            await ptb_bot.send_message(CHAT, "x", reply_to_message_id=99)

    async def test_bot_and_user_share_message_ids(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Message ids per chat keep increasing across user and bot messages."""
        first = fake_tg.send_private_text(CHAT, "hi")["message"]["message_id"]
        sent = await ptb_bot.send_message(CHAT, "hello")
        second = fake_tg.send_private_text(CHAT, "again")["message"]["message_id"]
        assert first < sent.message_id < second


class TestEdits:
    async def test_edit_changes_text_and_keeps_history(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """editMessageText replaces the stored text and appends to edits."""
        sent = await ptb_bot.send_message(CHAT, "one")
        await ptb_bot.edit_message_text("two", CHAT, sent.message_id)
        italic = telegram.MessageEntity(telegram.MessageEntity.ITALIC, offset=0, length=5)
        await ptb_bot.edit_message_text("three", CHAT, sent.message_id, entities=[italic])
        stored = fake_tg.messages(CHAT)[-1]
        assert (stored.text, stored.edits) == ("three", ["two", "three"])

    async def test_same_content_is_not_modified(self, ptb_bot: telegram.Bot) -> None:
        """An edit that changes nothing gets Telegram's 'message is not modified'."""
        sent = await ptb_bot.send_message(CHAT, "same", entities=[bold(0, 4)])
        with pytest.raises(BadRequest, match="not modified"):
            await ptb_bot.edit_message_text("same", CHAT, sent.message_id, entities=[bold(0, 4)])

    async def test_missing_message_is_not_found(self, ptb_bot: telegram.Bot) -> None:
        """Editing an id the bot never sent is 'message to edit not found'."""
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await ptb_bot.edit_message_text("x", CHAT, 77)

    async def test_delete_marks_the_message(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """deleteMessage hides the message; deleting again is not found."""
        sent = await ptb_bot.send_message(CHAT, "bye")
        assert await ptb_bot.delete_message(CHAT, sent.message_id)
        assert fake_tg.messages(CHAT) == []
        with pytest.raises(BadRequest, match="not found"):
            await ptb_bot.delete_message(CHAT, sent.message_id)


class TestDrafts:
    async def test_drafts_are_recorded_in_order(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """sendMessageDraft returns True and the texts are listed per chat."""
        assert await ptb_bot.send_message_draft(CHAT, 1, "Hel")
        assert await ptb_bot.send_message_draft(CHAT, 1, "Hello", entities=[bold(0, 5)])
        assert fake_tg.drafts(CHAT) == ["Hel", "Hello"]

    async def test_drafts_only_in_private_chats(self, ptb_bot: telegram.Bot) -> None:
        """A group chat id gets 400."""
        with pytest.raises(BadRequest):
            await ptb_bot.send_message_draft(GROUP, 1, "x")

    async def test_unsupported_drafts_are_not_found(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """With drafts unsupported the method is unknown: 404, InvalidToken in PTB."""
        fake_tg.set_drafts_supported(False)
        with pytest.raises(InvalidToken, match="Not Found"):
            await ptb_bot.send_message_draft(CHAT, 1, "x")


class TestFaults:
    async def test_flood_limit_answers_retry_after(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two edits closer than the interval: the second gets 429 with retry_after."""
        monkeypatch.setenv("PTB_TIMEDELTA", "1")  # else RetryAfter() itself warns
        fake_tg.flood_limit(5.0)
        sent = await ptb_bot.send_message(CHAT, "a")
        await ptb_bot.edit_message_text("b", CHAT, sent.message_id)
        with pytest.raises(RetryAfter) as caught:
            await ptb_bot.edit_message_text("c", CHAT, sent.message_id)
        assert caught.value.retry_after.total_seconds() == 5  # type: ignore[union-attr]
        assert [c.method for c in fake_tg.flood_errors] == ["editMessageText"]

    async def test_fail_next_forbidden_then_recovers(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A queued 403 hits only the next matching call."""
        fake_tg.fail_next("sendMessage", 403, chat_id=CHAT)
        with pytest.raises(Forbidden, match="blocked"):
            await ptb_bot.send_message(CHAT, "x")
        await ptb_bot.send_message(CHAT, "y")

    async def test_dropped_connection_is_a_network_error(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """drop_connection closes the socket without an answer."""
        fake_tg.fail_next("sendMessage", drop_connection=True)
        with pytest.raises(NetworkError):
            await ptb_bot.send_message(CHAT, "x")

    async def test_blocked_method_waits_until_released(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A blocked call is recorded at once and answered only after the event is set."""
        release = fake_tg.block_method("sendMessage")
        task = asyncio.create_task(ptb_bot.send_message(CHAT, "x"))
        await fake_tg.wait_for_call("sendMessage")
        assert not task.done() and fake_tg.messages(CHAT) == []
        release.set()
        assert (await task).text == "x"

    async def test_on_call_hook_can_answer_an_error(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A hook sees the call and may raise ApiError to answer with it."""

        async def hook(call: ApiCall) -> None:
            if call.params["text"] == "boom":
                raise ApiError(400, "Bad Request: hooked")

        fake_tg.on_call("sendMessage", hook)
        with pytest.raises(BadRequest, match="Hooked"):
            await ptb_bot.send_message(CHAT, "boom")
