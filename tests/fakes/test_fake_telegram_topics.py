"""FakeTelegram's topics (forum supergroups, private chats with topics), driven by PTB."""

from __future__ import annotations

import pytest
import telegram
from telegram.constants import ChatAction
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram

FORUM = -1009001
PRIVATE = 42
ALICE = 7


class TestForumUpdates:
    async def test_topic_message_carries_its_thread(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A message in a topic has message_thread_id and is_topic_message, in a forum chat,
        and replies to the topic's creation message as in Telegram."""
        fake_tg.forum_chat(FORUM)
        topic = fake_tg.create_topic(FORUM, "Travel", ALICE)
        fake_tg.send_topic_text(FORUM, "hello", ALICE, thread_id=topic)
        [update] = await ptb_bot.get_updates()
        message = update.message
        assert message is not None and message.chat.is_forum
        assert (message.message_thread_id, message.is_topic_message) == (topic, True)
        assert message.reply_to_message is not None
        assert message.reply_to_message.forum_topic_created is not None

    async def test_general_topic_message_has_no_thread(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A message in the General topic carries no thread id and is no topic message."""
        fake_tg.forum_chat(FORUM)
        fake_tg.send_topic_text(FORUM, "hello", ALICE)
        [update] = await ptb_bot.get_updates()
        assert update.message is not None
        assert update.message.message_thread_id is None
        assert not update.message.is_topic_message

    async def test_private_topic_message(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """A private chat with topics sends its messages with their topic."""
        fake_tg.private_topics(PRIVATE)
        topic = fake_tg.create_topic(PRIVATE, "Cooking")
        fake_tg.send_private_topic_text(PRIVATE, "hi", topic)
        [update] = await ptb_bot.get_updates()
        assert update.message is not None
        assert (update.message.message_thread_id, update.message.is_topic_message) == (topic, True)


class TestSendingToTopics:
    async def test_sent_message_and_draft_record_their_topic(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Messages and drafts sent into a topic remember it; the Message says so."""
        fake_tg.private_topics(PRIVATE)
        topic = fake_tg.create_topic(PRIVATE, "Cooking")
        sent = await ptb_bot.send_message(PRIVATE, "answer", message_thread_id=topic)
        assert (sent.message_thread_id, sent.is_topic_message) == (topic, True)
        await ptb_bot.send_message_draft(PRIVATE, 5, "ans", message_thread_id=topic)
        assert fake_tg.messages(PRIVATE)[0].thread_id == topic
        assert fake_tg.draft_records(PRIVATE)[0].thread_id == topic
        assert fake_tg.calls_of("sendMessage")[0].thread_id == topic

    async def test_general_topic_refuses_thread_one_except_for_typing(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot
    ) -> None:
        """Thread 1 (General) is refused for messages; typing may name it."""
        fake_tg.forum_chat(FORUM)
        with pytest.raises(BadRequest, match="thread not found"):
            await ptb_bot.send_message(FORUM, "x", message_thread_id=1)
        assert await ptb_bot.send_chat_action(FORUM, ChatAction.TYPING, message_thread_id=1)
        await ptb_bot.send_message(FORUM, "to General")
        assert fake_tg.messages(FORUM)[0].thread_id is None

    @pytest.mark.parametrize("chat_id", [PRIVATE, -100555, FORUM])
    async def test_unknown_thread_is_refused(
        self, fake_tg: FakeTelegram, ptb_bot: telegram.Bot, chat_id: int
    ) -> None:
        """A thread id in a chat without topics, or an unknown topic, is refused."""
        if chat_id == FORUM:
            fake_tg.forum_chat(FORUM)
        with pytest.raises(BadRequest, match="thread not found"):
            await ptb_bot.send_message(chat_id, "x", message_thread_id=77)
        with pytest.raises(BadRequest, match="thread not found"):
            await ptb_bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=77)
