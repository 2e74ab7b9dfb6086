"""End to end: who may talk to the bot, admin-only commands, and who may change group settings."""

from __future__ import annotations

from typing import ClassVar

import pytest

from bot.config import DEFAULT_SYSTEM_PROMPT
from bot.engine.errors import BotError
from bot.engine.policy.gatekeeper import ADMINS_ONLY, CHAT_ADMINS_ONLY, Gatekeeper
from tests.fakes.telegram import ApiCall
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for

STRANGER = 4242
OTHER_GROUP = -100777
ADMIN = 9001
ALICE, BOB = 7, 8


async def refusals(logs: LogCapture, count: int) -> list[dict[str, object]]:
    """The first `count` update_refused events, once that many were logged."""
    return (await logs.wait_for("update_refused", count, timeout=20))[:count]


def admin_lookups(bot: RunningBot) -> list[ApiCall]:
    """Every question to Telegram about who administers a chat."""
    return bot.telegram.calls_of("getChatAdministrators") + bot.telegram.calls_of("getChatMember")


class TestOpenBot:
    async def test_warns_loudly_at_start(self, bot: RunningBot, logs: LogCapture) -> None:
        """With no allowlist the start-up log warns that anyone can use the bot."""
        [event] = logs.named("access_open")
        assert event["level"] == "warning"
        assert "ANYONE" in str(event["message"])
        bot.telegram.send_private_text(STRANGER, "hello")
        assert await answer_in(bot, STRANGER) == "echo: hello"


class TestAllowedUsers:
    ENV: ClassVar[dict[str, str]] = {
        "ALLOWED_USER_IDS": f"{PRIVATE}, 1002",
        "ADMIN_USER_IDS": str(ADMIN),
    }

    async def test_allowed_user_is_answered(self, bot: RunningBot, logs: LogCapture) -> None:
        """A listed user gets answers; the start-up log says access is restricted."""
        bot.telegram.send_private_text(PRIVATE, "hello")
        assert await answer_in(bot, PRIVATE) == "echo: hello"
        assert logs.named("access_open") == []
        [event] = logs.named("access_restricted")
        assert event["allowed_users"] == 2 and event["admins"] == 1

    async def test_admin_needs_no_allowlist_entry(self, bot: RunningBot) -> None:
        """A bot admin may use the bot without being in ALLOWED_USER_IDS."""
        bot.telegram.send_private_text(ADMIN, "admin here")
        assert await answer_in(bot, ADMIN) == "echo: admin here"

    async def test_stranger_is_told_once_and_model_never_called(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A stranger gets one polite message with their id; repeats and commands get silence."""
        for text in ("hello?", "anyone?", "/start", "/model gpt-other", "/stats"):
            bot.telegram.send_private_text(STRANGER, text)
        events = await refusals(logs, 5)
        assert [e["reason"] for e in events] == ["not_allowed"] * 5
        assert [e["told"] for e in events] == [True, False, False, False, False]
        await quiet_for(bot)  # the notice is sent after its refusal is logged
        [notice] = bot.telegram.messages(STRANGER)
        assert str(STRANGER) in notice.text and "private bot" in notice.text
        assert bot.model.requests == []
        bot.telegram.send_private_text(PRIVATE, "still fine")
        assert await answer_in(bot, PRIVATE) == "echo: still fine"
        assert [r.model for r in bot.model.requests] == ["gpt-test"]

    async def test_stranger_in_a_group_is_refused(self, bot: RunningBot, logs: LogCapture) -> None:
        """In a group that is not allowed, only a message to the bot gets the notice, once."""
        bot.telegram.send_group_text(OTHER_GROUP, "just chatting", user_id=STRANGER)
        bot.telegram.send_group_text(OTHER_GROUP, "@test_llm_bot hi", user_id=STRANGER)
        bot.telegram.send_group_text(OTHER_GROUP, "@test_llm_bot hello?", user_id=STRANGER)
        events = await refusals(logs, 3)
        assert [e["told"] for e in events] == [False, True, False]
        await quiet_for(bot)  # the notice is sent after its refusal is logged
        [notice] = bot.telegram.messages(OTHER_GROUP)
        assert str(OTHER_GROUP) in notice.text and str(STRANGER) in notice.text
        assert bot.model.requests == []

    async def test_allowed_user_may_talk_in_any_group(self, bot: RunningBot) -> None:
        """An allowed user is answered in a group that is not itself allowed."""
        bot.telegram.send_group_text(OTHER_GROUP, "@test_llm_bot hi", user_id=PRIVATE)
        assert await answer_in(bot, OTHER_GROUP) == "echo: Bob: hi"

    async def test_stranger_button_press_is_refused(self, bot: RunningBot) -> None:
        """A stranger pressing a picker button gets a short refusal and changes nothing."""
        bot.telegram.send_private_text(PRIVATE, "/model")
        await answer_in(bot, PRIVATE)
        picker = bot.telegram.messages(PRIVATE)[0]
        bot.telegram.push_callback_query(PRIVATE, STRANGER, "model:2", picker.message_id)
        answered = await bot.telegram.wait_for_call("answerCallbackQuery", timeout=20)
        assert str(STRANGER) in answered.params["text"]
        bot.telegram.send_private_text(PRIVATE, "which model?")
        await answer_in(bot, PRIVATE, 2)
        assert bot.model.requests[-1].model == "gpt-test"
        assert bot.telegram.calls_of("editMessageText") == []


class TestAllowedGroup:
    ENV: ClassVar[dict[str, str]] = {"ALLOWED_CHAT_IDS": str(GROUP)}

    async def test_every_member_may_talk(self, bot: RunningBot) -> None:
        """In an allowed group every member is answered, listed or not."""
        bot.telegram.send_group_text(GROUP, "@test_llm_bot one", user_id=ALICE, first_name="Alice")
        await answer_in(bot, GROUP, 1)
        bot.telegram.send_group_text(GROUP, "@test_llm_bot two", user_id=BOB, first_name="Bob")
        assert await answer_in(bot, GROUP, 2) == "echo: Bob: two"

    async def test_members_are_not_allowed_in_private(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Membership of an allowed group does not open private chats with the bot."""
        bot.telegram.send_private_text(ALICE, "psst")
        assert "private bot" in await answer_in(bot, ALICE)
        assert bot.model.requests == []
        assert (await refusals(logs, 1))[0]["reason"] == "not_allowed"


class TestAdminCommands:
    ENV: ClassVar[dict[str, str]] = {"ADMIN_USER_IDS": str(ADMIN)}

    async def test_usage_is_refused_to_others(self, bot: RunningBot, logs: LogCapture) -> None:
        """/usage from someone who is not an admin is refused, with no figures shown."""
        bot.telegram.send_private_text(PRIVATE, "/usage")
        assert await answer_in(bot, PRIVATE) == ADMINS_ONLY
        assert (await refusals(logs, 1))[0]["reason"] == "admins_only"

    async def test_usage_per_user_and_chat(self, bot: RunningBot, logs: LogCapture) -> None:
        """/usage shows requests and tokens per user and per chat, today, this month, ever."""
        bot.telegram.send_private_text(PRIVATE, "one")
        await logs.wait_for("reply_finished")
        first = bot.model.last_usage
        bot.telegram.send_group_text(GROUP, "@test_llm_bot two", user_id=ALICE)
        # A group answer is visible (streamed) before it is recorded: wait for the record.
        await logs.wait_for("reply_finished", 2)
        second = bot.model.last_usage
        assert first is not None and second is not None
        bot.telegram.send_private_text(ADMIN, "/usage")
        text = await answer_in(bot, ADMIN)
        tokens = [u["prompt_tokens"] + u["completion_tokens"] for u in (first, second)]
        everyone = f"2 / {sum(tokens):,} / $0.0000"
        assert f"Everyone today: {everyone}" in text
        assert f"Everyone all time: {everyone}" in text
        mine = f"1 / {tokens[0]:,} / $0.0000"
        assert f"{PRIVATE}: today {mine} · month {mine} · all {mine}" in text
        assert f"{ALICE}: today 1 / {tokens[1]:,}" in text
        assert f"{GROUP}: today 1 / {tokens[1]:,}" in text
        assert len(bot.model.requests) == 2


class TestGroupSettings:
    ENV: ClassVar[dict[str, str]] = {"ADMIN_USER_IDS": str(ADMIN)}

    async def test_members_cannot_change_settings(self, bot: RunningBot, logs: LogCapture) -> None:
        """A plain member's /model NAME and /clear are refused (told once); the group's model
        stays; Telegram is asked for the group's admins once."""
        bot.telegram.send_group_text(GROUP, "/model gpt-other", user_id=ALICE)
        bot.telegram.send_group_text(GROUP, "/clear@test_llm_bot", user_id=ALICE)
        events = await refusals(logs, 2)
        assert [e["reason"] for e in events] == ["chat_admins_only"] * 2
        assert [e["told"] for e in events] == [True, False]
        await quiet_for(bot)  # the notice is sent after its refusal is logged
        assert [m.text for m in bot.telegram.messages(GROUP)] == [CHAT_ADMINS_ONLY]
        assert len(bot.telegram.calls_of("getChatAdministrators", chat_id=GROUP)) == 1
        assert bot.telegram.calls_of("getChatMember") == []
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=ALICE)
        await answer_in(bot, GROUP, 2)
        assert bot.model.requests[-1].model == "gpt-test"

    async def test_members_may_look(self, bot: RunningBot) -> None:
        """/model without a name only shows the model, so any member may use it."""
        bot.telegram.send_group_text(GROUP, "/model", user_id=ALICE)
        assert "Current model: gpt-test" in await answer_in(bot, GROUP)

    async def test_members_cannot_set_the_system_prompt(self, bot: RunningBot) -> None:
        """A plain member's /system TEXT is refused; the group keeps the default prompt."""
        bot.telegram.send_group_text(GROUP, "/system Talk like a pirate.", user_id=ALICE)
        assert await answer_in(bot, GROUP) == CHAT_ADMINS_ONLY
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=ALICE)
        await answer_in(bot, GROUP, 2)
        assert bot.model.requests[-1].messages[0]["content"] == DEFAULT_SYSTEM_PROMPT

    async def test_telegram_group_admin_may(self, bot: RunningBot) -> None:
        """A group admin (per getChatAdministrators) may switch the group's model."""
        bot.telegram.set_chat_admins(GROUP, [BOB])
        bot.telegram.send_group_text(GROUP, "/model gpt-other", user_id=BOB)
        assert "switched to gpt-other" in await answer_in(bot, GROUP)

    async def test_bot_admin_may(self, bot: RunningBot) -> None:
        """A bot admin may change any group's settings without asking Telegram."""
        bot.telegram.send_group_text(GROUP, "/clear", user_id=ADMIN)
        assert "already empty" in await answer_in(bot, GROUP)
        assert admin_lookups(bot) == []

    async def test_anonymous_group_admin_may(self, bot: RunningBot) -> None:
        """An admin writing anonymously (as the group itself) may change settings."""
        group = {"id": GROUP, "type": "supergroup", "title": "Test Group"}
        anonymous = {
            "id": 1087968824,
            "is_bot": True,
            "first_name": "Group",
            "username": "GroupAnonymousBot",
        }
        text = "/model gpt-other"
        bot.telegram.push_message(
            group,
            anonymous,
            text=text,
            sender_chat=group,
            entities=[{"type": "bot_command", "offset": 0, "length": len("/model")}],
        )
        assert "switched to gpt-other" in await answer_in(bot, GROUP)
        assert admin_lookups(bot) == []

    async def test_picker_button_needs_a_group_admin(self, bot: RunningBot) -> None:
        """A member pressing the group's model picker is refused; an admin's press switches."""
        bot.telegram.set_chat_admins(GROUP, [BOB])
        bot.telegram.send_group_text(GROUP, "/model", user_id=ALICE)
        await answer_in(bot, GROUP)
        picker = bot.telegram.messages(GROUP)[0]
        bot.telegram.push_callback_query(GROUP, ALICE, "model:1", picker.message_id)
        refused = await bot.telegram.wait_for_call("answerCallbackQuery", timeout=20)
        assert refused.params["text"] == CHAT_ADMINS_ONLY
        assert bot.telegram.calls_of("editMessageText") == []
        bot.telegram.push_callback_query(GROUP, BOB, "model:1", picker.message_id)
        await bot.telegram.wait_for_call("editMessageText", timeout=20)
        assert "gpt-other" in bot.telegram.calls_of("editMessageText")[0].params["text"]


class TestGroupSettingsOpen:
    ENV: ClassVar[dict[str, str]] = {"GROUP_SETTINGS_ADMINS_ONLY": "false"}

    async def test_anyone_may_change(self, bot: RunningBot) -> None:
        """With GROUP_SETTINGS_ADMINS_ONLY=false any member may switch the group's model."""
        bot.telegram.send_group_text(GROUP, "/model gpt-other", user_id=ALICE)
        assert "switched to gpt-other" in await answer_in(bot, GROUP)
        assert admin_lookups(bot) == []


class TestFailClosed:
    async def test_a_broken_check_refuses(
        self, bot: RunningBot, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If a check itself fails, the message is refused with a short note, not let through."""

        async def broken(*_args: object) -> None:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(Gatekeeper, "check_message", broken)
        bot.telegram.send_private_text(PRIVATE, "hello")
        assert await answer_in(bot, PRIVATE) == BotError.user_message
        assert bot.model.requests == []
        [event] = await refusals(logs, 1)
        assert event["reason"] == "guard_failed"
        assert logs.named("guard_failed")
