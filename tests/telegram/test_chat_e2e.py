"""End to end: people chatting with the real bot over HTTP (fake Telegram, fake model)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from tests.support.chats import GROUP, PRIVATE, answer_in, user_messages
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import handled, quiet_for


async def final_text_in(
    bot: RunningBot, chat_id: int, count: int, expected: str, timeout: float = 10
) -> None:
    """Wait until the chat's `count`-th message shows `expected` (group answers are streamed
    into a message that is edited until complete)."""
    await answer_in(bot, chat_id, count, timeout)
    deadline = asyncio.get_running_loop().time() + timeout
    while (text := bot.telegram.messages(chat_id)[count - 1].text) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"final text never came: {text!r}"
        await asyncio.sleep(0.01)


class TestPrivateChat:
    async def test_answers_with_typing_shown(self, bot: RunningBot) -> None:
        """A private message gets the model's answer, with "typing…" sent while it works."""
        bot.telegram.send_private_text(PRIVATE, "Hello there")
        assert await answer_in(bot, PRIVATE) == "echo: Hello there"
        actions = bot.telegram.calls_of("sendChatAction", chat_id=PRIVATE)
        assert actions and actions[0].params["action"] == "typing"
        request = bot.model.requests[-1]
        assert request.body["model"] == "gpt-test"
        assert request.body["stream"] is True
        assert request.body["stream_options"] == {"include_usage": True}
        assert request.body["max_tokens"] == 1000
        assert request.messages[0]["role"] == "system"

    async def test_typing_is_refreshed_during_a_slow_answer(self, bot: RunningBot) -> None:
        """While a slow answer is generated, "typing…" is sent again before it fades."""
        from tests.fakes.openai import Reply

        bot.model.script(Reply("slow answer", ttft=4.6))
        bot.telegram.send_private_text(PRIVATE, "take your time")
        assert await answer_in(bot, PRIVATE, timeout=15) == "slow answer"
        assert len(bot.telegram.calls_of("sendChatAction", chat_id=PRIVATE)) >= 2

    async def test_remembers_the_conversation(self, bot: RunningBot) -> None:
        """The second request carries the first question and its answer."""
        bot.telegram.send_private_text(PRIVATE, "My name is Ada")
        await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "What is my name?")
        await answer_in(bot, PRIVATE, 2)
        messages = bot.model.requests[-1].messages
        assert [m["content"] for m in messages[1:]] == [
            "My name is Ada",
            "echo: My name is Ada",
            "What is my name?",
        ]

    async def test_three_chats_interleaved_do_not_leak(self, bot: RunningBot) -> None:
        """Three chats talking at once each see only their own history."""
        chats = [2001, 2002, 2003]
        for round_ in range(3):
            for chat in chats:
                bot.telegram.send_private_text(chat, f"chat {chat} says {round_}")
            for chat in chats:
                await answer_in(bot, chat, round_ + 1)
        for request in bot.model.requests:
            said = user_messages(request.messages)
            owners = {text.split()[1] for text in said}
            assert len(owners) == 1, f"history leaked between chats: {said}"
        for chat in chats:
            texts = [m.text for m in bot.telegram.messages(chat)]
            assert texts == [f"echo: chat {chat} says {n}" for n in range(3)]

    async def test_one_chat_is_answered_in_order(self, bot: RunningBot) -> None:
        """Messages sent in a burst are answered one after another, each seeing the previous."""
        for n in range(4):
            bot.telegram.send_private_text(PRIVATE, f"message {n}")
        await answer_in(bot, PRIVATE, 4)
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == [
            f"echo: message {n}" for n in range(4)
        ]
        assert user_messages(bot.model.requests[-1].messages) == [f"message {n}" for n in range(4)]

    async def test_slow_chat_does_not_delay_another(self, bot: RunningBot) -> None:
        """One chat waiting on a slow model call does not hold up a second chat."""
        from tests.fakes.openai import Block, Reply

        release = asyncio.Event()
        bot.model.script(Block(release, then=Reply("slow")))
        bot.telegram.send_private_text(3001, "slow one")
        await bot.model.wait_for_requests(1)
        bot.telegram.send_private_text(3002, "fast one")
        # The first chat's model call is still held open while the second chat is answered.
        assert await answer_in(bot, 3002) == "echo: fast one"
        assert bot.telegram.messages(3001) == []
        release.set()
        assert await answer_in(bot, 3001) == "slow"

    async def test_history_survives_a_restart(self, bot: RunningBot) -> None:
        """After a restart over the same database the bot still remembers the chat."""
        bot.telegram.send_private_text(PRIVATE, "Remember 42")
        await answer_in(bot, PRIVATE, 1)
        await bot.restart()
        bot.telegram.send_private_text(PRIVATE, "What number?")
        await answer_in(bot, PRIVATE, 2)
        assert user_messages(bot.model.requests[-1].messages) == ["Remember 42", "What number?"]

    async def test_non_text_gets_a_short_note(self, bot: RunningBot, logs: LogCapture) -> None:
        """With MEDIA_ENABLED=false a photo, sticker, voice note or file gets a note that only
        text is supported."""
        await bot.restart(MEDIA_ENABLED="false")
        kinds: dict[str, dict[str, Any]] = {
            "photo": {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
            "sticker": {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "voice": {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
            "document": {"document": {"file_id": "d", "file_unique_id": "d"}},
        }
        for fields in kinds.values():
            bot.telegram.send_private_update(PRIVATE, fields)
        await answer_in(bot, PRIVATE, len(kinds))
        assert {m.text for m in bot.telegram.messages(PRIVATE)} == {
            "I can only read text messages for now. Please send your question as text."
        }
        assert bot.model.requests == []
        assert {e["kind"] for e in logs.named("non_text_message")} == set(kinds)

    async def test_whitespace_only_text_is_not_sent_to_the_model(self, bot: RunningBot) -> None:
        """A message of only spaces gets a short note and no model call."""
        bot.telegram.send_private_text(PRIVATE, "   \n\t ")
        assert "no text" in await answer_in(bot, PRIVATE)
        assert bot.model.requests == []

    async def test_reply_event_is_logged_once(self, bot: RunningBot, logs: LogCapture) -> None:
        """One reply_finished event per answer, with model, latency, ttft, tokens, attempts."""
        bot.telegram.send_private_text(PRIVATE, "log me")
        await answer_in(bot, PRIVATE)
        [event] = await logs.wait_for("reply_finished")
        assert event["outcome"] == "answered"
        assert event["model"] == "gpt-test"
        assert event["attempts"] == 1
        assert event["latency_ms"] >= 0 and event["ttft_ms"] >= 0
        assert event["prompt_tokens"] > 0 and event["completion_tokens"] > 0
        assert event["usage_estimated"] is False
        assert event["update_id"] and event["chat_id"] == PRIVATE and event["user_id"]


class TestGroups:
    async def test_ignores_chatter_not_addressed_to_it(self, bot: RunningBot) -> None:
        """Group messages that neither mention nor reply to the bot get no answer."""
        bot.telegram.send_group_text(GROUP, "just chatting", user_id=7, first_name="Alice")
        bot.telegram.send_group_text(GROUP, "hey @someone_else", user_id=8, first_name="Bob")
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=7, first_name="Alice")
        await answer_in(bot, GROUP, 1)
        await quiet_for(bot)
        assert len(bot.telegram.messages(GROUP)) == 1
        assert len(bot.model.requests) == 1

    async def test_mention_is_answered_as_a_reply_naming_speakers(self, bot: RunningBot) -> None:
        """A mention is answered as a reply to it; the model sees who said what."""
        bot.telegram.send_group_text(
            GROUP, "@test_llm_bot I'm Alice", user_id=7, first_name="Alice"
        )
        await answer_in(bot, GROUP, 1)
        asked = bot.telegram.calls_of("sendMessage", chat_id=GROUP)[0]
        first = bot.telegram.messages(GROUP)[0]
        assert first.reply_to_message_id is not None
        bot.telegram.send_group_text(
            GROUP, "@test_llm_bot and I'm Bob", user_id=8, first_name="Bob"
        )
        await answer_in(bot, GROUP, 2)
        assert user_messages(bot.model.requests[-1].messages) == [
            "Alice: I'm Alice",
            "Bob: and I'm Bob",
        ]
        assert asked.params["chat_id"] in (GROUP, str(GROUP))

    async def test_reply_to_the_bot_is_answered(self, bot: RunningBot) -> None:
        """Replying to one of the bot's messages addresses it without a mention."""
        bot.telegram.send_group_text(GROUP, "@test_llm_bot start", user_id=7, first_name="Alice")
        await answer_in(bot, GROUP, 1)
        mine = bot.telegram.messages(GROUP)[0]
        bot.telegram.send_group_text(
            GROUP,
            "tell me more",
            user_id=9,
            first_name="Carol",
            reply_to_message=bot.telegram.message_dict(GROUP, mine.message_id),
        )
        await final_text_in(bot, GROUP, 2, "echo: Carol: tell me more")

    async def test_group_command_is_answered(self, bot: RunningBot, logs: LogCapture) -> None:
        """Commands work in groups without a mention, and /cmd@thisbot too."""
        bot.telegram.send_group_text(GROUP, "/stats", user_id=7, first_name="Alice")
        assert "Messages in memory: 0" in await answer_in(bot, GROUP, 1)
        bot.telegram.send_group_text(GROUP, "/start@test_llm_bot", user_id=7, first_name="Alice")
        assert "Mention me" in await answer_in(bot, GROUP, 2)
        other = bot.telegram.send_group_text(
            GROUP, "/start@other_bot", user_id=7, first_name="Alice"
        )
        await handled(bot, logs, other["update_id"])
        assert len(bot.telegram.messages(GROUP)) == 2

    async def test_one_memory_per_group(self, bot: RunningBot) -> None:
        """Every member's addressed messages share the group's one history."""
        bot.telegram.send_group_text(GROUP, "@test_llm_bot one", user_id=7, first_name="Alice")
        await answer_in(bot, GROUP, 1)
        bot.telegram.send_group_text(GROUP, "@test_llm_bot two", user_id=8, first_name="Bob")
        await answer_in(bot, GROUP, 2)
        assert user_messages(bot.model.requests[-1].messages) == ["Alice: one", "Bob: two"]


class TestScale:
    async def test_huge_chat_sends_a_bounded_request(self, bot: RunningBot) -> None:
        """A chat with 100,000 stored messages answers with only the recent window."""
        await bot.stop()
        db_path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
        chat = f"tg:{PRIVATE}"
        with sqlite3.connect(db_path) as db:
            db.executemany(
                "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
                " VALUES (?, ?, ?, 'answered', 0, 0)",
                ((chat, f"old question {n}", f"old answer {n}") for n in range(50_000)),
            )
        await bot.start()
        bot.telegram.send_private_text(PRIVATE, "and now?")
        await answer_in(bot, PRIVATE)
        messages = bot.model.requests[-1].messages
        assert len(messages) <= 1 + 20
        assert messages[-1]["content"] == "and now?"
        assert messages[-2]["content"] == "old answer 49999"
