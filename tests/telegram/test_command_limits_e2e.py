"""End to end: every command and button is rate-limited, each refusal is told once, group
admins are looked up once a minute, anonymous senders have limits of their own, and /usage
keeps its figures out of groups."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from bot.engine.policy.gatekeeper import ADMINS_ONLY, CHAT_ADMINS_ONLY
from bot.telegram.handlers import table
from bot.telegram.handlers.admin import PRIVATE_ONLY
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.database import db_rows
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until

ADMIN = 9001
ALICE, BOB = 7, 8
OTHER_GROUP = -100777
TOO_MANY = "Too many commands. Please wait "
# Every command the table has that does not ask the model, by each of its names.
LIGHT_COMMANDS = [name for c in table.COMMANDS if not c.asks_model for name in c.names]


def refused(logs: LogCapture, reason: str) -> list[dict[str, Any]]:
    return [e for e in logs.named("update_refused") if e["reason"] == reason]


def texts(bot: RunningBot, chat: int) -> list[str]:
    return [m.text for m in bot.telegram.messages(chat)]


def as_chat(chat_id: int, title: str, kind: str = "supergroup") -> dict[str, Any]:
    return {"id": chat_id, "type": kind, "title": title}


ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel"}


def send_as_chat(bot: RunningBot, group: int, sender: dict[str, Any], text: str) -> None:
    """A message in `group` sent as a chat: the group itself (an anonymous admin) or a channel."""
    user = ANONYMOUS_ADMIN if sender["id"] == group else CHANNEL_BOT
    mention = "@test_llm_bot"
    bot.telegram.push_message(
        as_chat(group, "Test Group"),
        user,
        text=f"{mention} {text}",
        sender_chat=sender,
        entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
    )


class TestEveryCommandIsLimited:
    ENV: ClassVar[dict[str, str]] = {
        "RATE_LIMIT_COMMANDS": "2",
        "RATE_LIMIT_COMMANDS_WINDOW_SECONDS": "60",
        "ADMIN_USER_IDS": str(ADMIN),
    }

    @pytest.mark.parametrize("name", [*LIGHT_COMMANDS, "nonsense"])
    async def test_over_the_limit_told_once(
        self, bot: RunningBot, logs: LogCapture, name: str
    ) -> None:
        """Any command of the table (or one it lacks) past RATE_LIMIT_COMMANDS is refused: the
        user is told how long to wait once, then silence; the model is never asked."""
        for _ in range(5):
            bot.telegram.send_private_text(PRIVATE, f"/{name}")
        await until(lambda: len(refused(logs, "commands_rate_limited")) == 3, "3 refusals")
        await quiet_for(bot)
        limited = refused(logs, "commands_rate_limited")
        assert [e["told"] for e in limited] == [True, False, False]
        assert [e["level"] for e in limited] == ["info", "debug", "debug"]
        assert 0 < float(limited[0]["retry_after_s"]) <= 60
        assert sum(t.startswith(TOO_MANY) for t in texts(bot, PRIVATE)) == 1
        assert bot.model.requests == []

    async def test_non_text_flood_gets_few_notes(self, bot: RunningBot, logs: LogCapture) -> None:
        """Stickers sent to the bot count against the commands' limit: past it the sender is
        told once to wait, and the rest get no "only text" note at all."""
        sticker = {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        for _ in range(6):
            bot.telegram.send_private_update(PRIVATE, {"sticker": sticker})
        await until(lambda: len(refused(logs, "commands_rate_limited")) == 4, "4 refusals")
        await quiet_for(bot)
        sent = texts(bot, PRIVATE)
        assert sum(t.startswith("I can only read text") for t in sent) == 2
        assert sum(t.startswith(TOO_MANY) for t in sent) == 1
        assert [e["told"] for e in refused(logs, "commands_rate_limited")] == [True] + [False] * 3
        assert bot.model.requests == []

    async def test_limit_is_per_user_and_spares_messages(self, bot: RunningBot) -> None:
        """Commands used up do not hold back another user, nor the user's messages; admins are
        not limited."""
        for _ in range(3):
            bot.telegram.send_private_text(PRIVATE, "/stats")
            bot.telegram.send_private_text(ADMIN, "/stats")
        await answer_in(bot, PRIVATE, 3)
        assert texts(bot, PRIVATE)[2].startswith(TOO_MANY)
        bot.telegram.send_private_text(PRIVATE, "still here")
        assert await answer_in(bot, PRIVATE, 4) == "echo: still here"
        await answer_in(bot, ADMIN, 3)
        assert not any(t.startswith(TOO_MANY) for t in texts(bot, ADMIN))

    async def test_button_taps_are_limited(self, bot: RunningBot, logs: LogCapture) -> None:
        """Button taps count with commands: past the limit a tap gets the wait as a toast once,
        then an empty answer (the button stops spinning) and no change."""
        bot.telegram.send_private_text(PRIVATE, "/model")
        await answer_in(bot, PRIVATE)
        picker = bot.telegram.messages(PRIVATE)[0]
        for _ in range(3):
            bot.telegram.push_callback_query(PRIVATE, PRIVATE, "model:1", picker.message_id)
        await until(lambda: len(bot.telegram.calls_of("answerCallbackQuery")) == 3, "3 answers")
        answers = [c.params.get("text") for c in bot.telegram.calls_of("answerCallbackQuery")]
        assert answers[1] is not None
        assert answers[1].startswith(TOO_MANY) and answers[2] is None
        assert len(bot.telegram.calls_of("editMessageText")) == 1  # the one tap let through
        assert [e["told"] for e in refused(logs, "commands_rate_limited")] == [True, False]


class TestRefusalsOnce:
    ENV: ClassVar[dict[str, str]] = {"ADMIN_USER_IDS": str(ADMIN)}

    async def test_admins_only_told_once(self, bot: RunningBot, logs: LogCapture) -> None:
        """A non-admin's repeated /usage gets "admins only" once; the repeats are logged at
        debug level and answered with silence."""
        for _ in range(3):
            bot.telegram.send_private_text(PRIVATE, "/usage")
        await until(lambda: len(refused(logs, "admins_only")) == 3, "3 refusals")
        await quiet_for(bot)
        assert texts(bot, PRIVATE) == [ADMINS_ONLY]
        assert [(e["told"], e["level"]) for e in refused(logs, "admins_only")] == [
            (True, "info"),
            (False, "debug"),
            (False, "debug"),
        ]

    async def test_usage_in_a_group_stays_private(self, bot: RunningBot, logs: LogCapture) -> None:
        """/usage by an admin in a group shows no ids or figures there, only where to ask."""
        bot.telegram.send_private_text(PRIVATE, "spend something")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_group_text(GROUP, "/usage", user_id=ADMIN)
        assert await answer_in(bot, GROUP) == PRIVATE_ONLY
        assert logs.named("usage_report_withheld")
        bot.telegram.send_private_text(ADMIN, "/usage")
        assert str(PRIVATE) in await answer_in(bot, ADMIN)


class TestGroupAdminLookups:
    ENV: ClassVar[dict[str, str]] = {"ADMIN_USER_IDS": str(ADMIN)}

    async def test_asked_once_per_group(self, bot: RunningBot, logs: LogCapture) -> None:
        """Settings attempts by members and an admin, by command and by button, ask Telegram for
        the group's admins once (getChatAdministrators), never per attempt (getChatMember); the
        member is told "admins only" once."""
        bot.telegram.set_chat_admins(GROUP, [BOB])
        bot.telegram.send_group_text(GROUP, "/model", user_id=BOB)
        await answer_in(bot, GROUP)
        picker = bot.telegram.messages(GROUP)[0]
        for _ in range(4):
            bot.telegram.send_group_text(GROUP, "/system Be rude.", user_id=ALICE)
        bot.telegram.push_callback_query(GROUP, ALICE, "model:1", picker.message_id)
        await until(lambda: len(refused(logs, "chat_admins_only")) == 5, "5 refusals")
        bot.telegram.send_group_text(GROUP, "/model gpt-other", user_id=BOB)
        await until(lambda: "switched to gpt-other" in " ".join(texts(bot, GROUP)), "switched")
        await quiet_for(bot)
        assert len(bot.telegram.calls_of("getChatAdministrators", chat_id=GROUP)) == 1
        assert bot.telegram.calls_of("getChatMember") == []
        assert texts(bot, GROUP).count(CHAT_ADMINS_ONLY) == 1
        assert [e["told"] for e in refused(logs, "chat_admins_only")] == [True] + [False] * 4
        toast = bot.telegram.calls_of("answerCallbackQuery")[0].params.get("text")
        assert toast is None  # told already, in the group
        assert [e["admins"] for e in logs.named("chat_admins_fetched")] == [1]

    async def test_each_group_asked_for_itself(self, bot: RunningBot) -> None:
        """Another group's admins are another lookup."""
        bot.telegram.set_chat_admins(OTHER_GROUP, [ALICE])
        bot.telegram.send_group_text(GROUP, "/clear", user_id=ALICE)
        assert await answer_in(bot, GROUP) == CHAT_ADMINS_ONLY
        bot.telegram.send_group_text(OTHER_GROUP, "/clear", user_id=ALICE)
        assert "empty" in await answer_in(bot, OTHER_GROUP)
        calls = bot.telegram.calls_of("getChatAdministrators")
        assert sorted(c.params["chat_id"] for c in calls) == sorted([GROUP, OTHER_GROUP])


class TestAnonymousSenders:
    ENV: ClassVar[dict[str, str]] = {"RATE_LIMIT_MESSAGES": "1", "RATE_LIMIT_WINDOW_SECONDS": "60"}

    async def test_each_sender_chat_has_its_own_limit(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Anonymous admins of two groups, and two users posting as their channels, are four
        senders (Telegram shows them as two placeholder users): each is answered once, and each
        one's second message is refused; what is stored names the sender chat."""
        channel_a, channel_b = as_chat(-100901, "A", "channel"), as_chat(-100902, "B", "channel")
        senders = [
            (GROUP, as_chat(GROUP, "Test Group")),
            (OTHER_GROUP, as_chat(OTHER_GROUP, "Test Group")),
            (GROUP, channel_a),
            (GROUP, channel_b),
        ]
        for group, sender in senders:
            send_as_chat(bot, group, sender, f"from {sender['id']}")
        await logs.wait_for("reply_finished", 4, timeout=20)
        assert len(bot.model.requests) == 4
        send_as_chat(bot, GROUP, channel_a, "again")
        [event] = await logs.wait_for("update_refused")
        assert event["reason"] == "rate_limited"
        assert event["user_id"] == CHANNEL_BOT["id"]  # the log context names the placeholder
        users = {str(s["id"]) for _, s in senders}
        assert {str(r[0]) for r in db_rows(bot, "SELECT user_id FROM usage")} == users
        assert {str(r[0]) for r in db_rows(bot, "SELECT user_id FROM turns")} == users
