"""End to end: odd and hostile input. Each is answered sensibly or ignored on purpose, never
crashes a handler, and never leaks between chats."""

from __future__ import annotations

import time

from tests.fakes._tg_textbuf import utf16_len
from tests.support.chats import GROUP, PRIVATE, answer_in, user_messages
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import handled, quiet_for

ALICE = {"id": PRIVATE, "is_bot": False, "first_name": "Alice"}
PRIVATE_CHAT = {"id": PRIVATE, "type": "private", "first_name": "Alice"}


async def nothing_happens(bot: RunningBot, logs: LogCapture, *update_ids: int) -> None:
    """Once the bot has taken the updates and gone quiet, check it did not (wrongly) react."""
    for update_id in update_ids:
        await handled(bot, logs, update_id)
    await quiet_for(bot)
    assert bot.telegram.calls_of("sendMessage") == []
    assert bot.model.requests == []
    assert logs.named("handler_error") == []


class TestText:
    async def test_control_characters_are_removed(self, bot: RunningBot) -> None:
        """NUL and other control characters never reach the model or the database."""
        bot.telegram.send_private_text(PRIVATE, "hel\x00lo\x07 wor\x1bld\tend")
        assert await answer_in(bot, PRIVATE) == "echo: hello world\tend"
        assert bot.model.requests[-1].messages[-1]["content"] == "hello world\tend"
        assert stored_turns(bot)[0][0] == "hello world\tend"

    async def test_only_control_characters_is_empty(self, bot: RunningBot) -> None:
        """A message of nothing but control characters is treated as empty."""
        bot.telegram.send_private_text(PRIVATE, "\x00\x01\x02 \x7f")
        assert "no text" in await answer_in(bot, PRIVATE)
        assert bot.model.requests == []

    async def test_lone_surrogate_is_replaced(self, bot: RunningBot, logs: LogCapture) -> None:
        """Invalid UTF-16 (a lone surrogate, possible in JSON) becomes U+FFFD, not a crash."""
        bot.telegram.send_private_text(PRIVATE, "bad \ud800 text", entities=[])
        assert await answer_in(bot, PRIVATE) == "echo: bad \ufffd text"
        assert logs.named("handler_error") == []

    async def test_right_to_left_and_emoji_round_trip(self, bot: RunningBot) -> None:
        """Arabic, Hebrew, skin-tone and family emoji arrive at the model and back unchanged."""
        text = "مرحبا 👋🏽 שלום 👨‍👩‍👧 \u200fok"
        bot.telegram.send_private_text(PRIVATE, text)
        assert await answer_in(bot, PRIVATE) == f"echo: {text}"
        assert bot.model.requests[-1].messages[-1]["content"] == text
        assert stored_turns(bot)[0][0] == text

    async def test_longest_message_gets_a_whole_answer(self, bot: RunningBot) -> None:
        """A 4096-character message (Telegram's limit) is answered in parts, nothing lost."""
        words = " ".join(f"w{n:04d}" for n in range(820))[:4096]
        assert len(words) == 4096
        bot.telegram.send_private_text(PRIVATE, words)
        await answer_in(bot, PRIVATE, 2, timeout=20)
        await quiet_for(bot)
        parts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert all(utf16_len(p) <= 4096 for p in parts)
        assert "".join(parts).replace(" ", "").replace("\n", "") == (
            f"echo: {words}".replace(" ", "")
        )

    async def test_forwarded_message_is_answered_as_text(self, bot: RunningBot) -> None:
        """A forwarded text is answered like any text the user sends."""
        bot.telegram.push_message(
            PRIVATE_CHAT,
            ALICE,
            text="forwarded words",
            forward_origin={
                "type": "hidden_user",
                "sender_user_name": "Someone",
                "date": int(time.time()) - 60,
            },
        )
        assert await answer_in(bot, PRIVATE) == "echo: forwarded words"


class TestUpdatesTheBotIgnores:
    async def test_edit_that_changes_nothing_is_not_answered_again(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Editing a message without changing its text changes nothing: its answer stands.
        (Changing the last question asks it again: tests/telegram/test_edit_e2e.py.)"""
        sent = bot.telegram.send_private_text(PRIVATE, "first version")
        await answer_in(bot, PRIVATE)
        edited = dict(sent["message"], text="first version", edit_date=int(time.time()))
        update_id = bot.telegram.push_update({"edited_message": edited})
        await handled(bot, logs, update_id)
        [event] = logs.named("edit_ignored")
        assert event["reason"] == "unchanged"
        assert len(bot.telegram.messages(PRIVATE)) == 1
        assert len(bot.model.requests) == 1
        assert "edited_message" in (bot.telegram.allowed_updates or [])

    async def test_edited_command_is_not_run_again(self, bot: RunningBot, logs: LogCapture) -> None:
        """Editing a command message (/stats into /clear) runs nothing."""
        sent = bot.telegram.send_private_text(PRIVATE, "/stats")
        await answer_in(bot, PRIVATE)
        edited = dict(sent["message"], text="/clear", edit_date=int(time.time()))
        update_id = bot.telegram.push_update({"edited_message": edited})
        await handled(bot, logs, update_id)
        await quiet_for(bot)
        assert len(bot.telegram.messages(PRIVATE)) == 1

    async def test_channel_post_is_ignored(self, bot: RunningBot, logs: LogCapture) -> None:
        """A post in a channel where the bot is an admin gets no answer."""
        channel = {"id": -1001234, "type": "channel", "title": "News"}
        post = bot.telegram.push_message(
            channel, None, update_type="channel_post", text="@test_llm_bot hi"
        )
        await nothing_happens(bot, logs, post["update_id"])


class TestMembership:
    async def test_added_to_a_group_introduces_itself(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Added to a group, the bot says once how to talk to it; the change is logged."""
        group = {"id": GROUP, "type": "supergroup", "title": "Friends"}
        bot.telegram.push_bot_membership(group, ALICE, "member")
        text = await answer_in(bot, GROUP)
        assert "@test_llm_bot" in text
        [event] = await logs.wait_for("bot_membership_changed")
        assert (event["old"], event["new"]) == ("left", "member")

    async def test_removed_or_blocked_is_only_logged(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Removed from a group, or blocked in a private chat: logged, nothing sent."""
        group = {"id": GROUP, "type": "supergroup", "title": "Friends"}
        bot.telegram.push_bot_membership(group, ALICE, "left")
        bot.telegram.push_bot_membership(PRIVATE_CHAT, ALICE, "kicked")
        events = await logs.wait_for("bot_membership_changed", 2)
        assert {e["new"] for e in events} == {"left", "kicked"}
        await nothing_happens(bot, logs)


class TestPeople:
    async def test_user_without_username(self, bot: RunningBot) -> None:
        """People without a username are answered, in private and (named) in groups."""
        bot.telegram.send_private_text(PRIVATE, "hi", username=None)
        assert await answer_in(bot, PRIVATE) == "echo: hi"
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hello", user_id=77, first_name="Zoë")
        assert await answer_in(bot, GROUP) == "echo: Zoë: hello"

    async def test_many_chats_at_once(self, bot: RunningBot) -> None:
        """Thirty chats writing at once each get their own two answers, in order."""
        chats = [5000 + n for n in range(30)]
        for round_ in range(2):
            for chat in chats:
                bot.telegram.send_private_text(chat, f"chat {chat} says {round_}")
        for chat in chats:
            await answer_in(bot, chat, 2, timeout=60)
        for chat in chats:
            texts = [m.text for m in bot.telegram.messages(chat)]
            assert texts == [f"echo: chat {chat} says {n}" for n in range(2)]
        for request in bot.model.requests:
            owners = {text.split()[1] for text in user_messages(request.messages)}
            assert len(owners) == 1


class TestCommands:
    async def test_malformed_model_argument(self, bot: RunningBot) -> None:
        """/model with control characters and direction overrides is refused, cleaned."""
        bot.telegram.send_private_text(PRIVATE, "/model \x00gpt\x1b[31m\u202etest")
        text = await answer_in(bot, PRIVATE)
        assert "Choose one of" in text
        assert not any(c in text for c in "\x00\x1b")
        assert bot.model.requests == []

    async def test_retry_ignores_its_arguments(self, bot: RunningBot) -> None:
        """/retry followed by anything still regenerates the last answer."""
        bot.telegram.send_private_text(PRIVATE, "question")
        await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "/retry " + "x" * 5000)
        assert await answer_in(bot, PRIVATE, 2) == "echo: question"
