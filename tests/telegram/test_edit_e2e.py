"""End to end: editing the last question asks it again (EDIT_REGENERATE_MINUTES); the new answer
replaces the old one, in place, and in the history; other edits are ignored."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes._tg_updates import auto_entities
from tests.support.chats import GROUP, PRIVATE, answer_in, user_messages
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import handled

ALICE = {"id": PRIVATE, "is_bot": False, "first_name": "Alice"}
PRIVATE_CHAT = {"id": PRIVATE, "type": "private", "first_name": "Alice"}


def edit(bot: RunningBot, sent: dict[str, Any], text: str) -> int:
    """The user edits a message they sent; returns the update's id."""
    edited = dict(sent["message"], text=text, edit_date=int(time.time()))
    edited.pop("entities", None)
    if entities := auto_entities(text):
        edited["entities"] = entities
    return bot.telegram.push_update({"edited_message": edited})


class TestEditToAskAgain:
    async def test_edited_last_question_is_answered_anew_in_place(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """The answer's message now shows the new answer; the history has the edited question
        once (asserted on the next model request) and not the old one."""
        sent = bot.telegram.send_private_text(PRIVATE, "first version")
        assert await answer_in(bot, PRIVATE) == "echo: first version"
        edit(bot, sent, "second version")
        [event] = await logs.wait_for("edit_asks_again")
        await logs.wait_for("reply_finished", 2)
        [answer] = bot.telegram.messages(PRIVATE)  # edited, not sent anew
        assert answer.text == "echo: second version"
        assert [t[:2] for t in stored_turns(bot)] == [("second version", "answered")]
        bot.telegram.send_private_text(PRIVATE, "next")
        assert await answer_in(bot, PRIVATE, 2) == "echo: next"
        assert user_messages(bot.model.requests[-1].messages) == ["second version", "next"]
        assert event["replaces"] == 1

    async def test_edit_in_a_group_replies_to_the_question(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """In a group the asker's edit is answered anew, in the same reply message."""
        sent = bot.telegram.send_group_text(GROUP, "@test_llm_bot one", user_id=7, first_name="Ann")
        await answer_in(bot, GROUP)
        edit(bot, sent, "@test_llm_bot two")
        await logs.wait_for("reply_finished", 2)
        [answer] = bot.telegram.messages(GROUP)
        assert answer.text == "echo: Ann: two"
        assert answer.reply_to_message_id == sent["message"]["message_id"]

    async def test_edit_outside_the_window_is_ignored(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A question sent 11 minutes ago (window: 10) keeps its answer when edited."""
        sent = bot.telegram.push_message(
            PRIVATE_CHAT, ALICE, text="old question", date=int(time.time()) - 11 * 60
        )
        await answer_in(bot, PRIVATE)
        update_id = edit(bot, sent, "new question")
        [event] = await logs.wait_for("edit_ignored")
        await handled(bot, logs, update_id)
        assert event["reason"] == "too_late"
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: old question"]
        assert len(bot.model.requests) == 1

    async def test_edit_of_an_older_message_is_ignored(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Only the last question may be edited to ask again; an earlier one is ignored."""
        first = bot.telegram.send_private_text(PRIVATE, "one")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_private_text(PRIVATE, "two")
        await answer_in(bot, PRIVATE, 2)
        update_id = edit(bot, first, "uno")
        [event] = await logs.wait_for("edit_ignored")
        await handled(bot, logs, update_id)
        assert event["reason"] == "not_the_last_question"
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: one", "echo: two"]
        assert len(bot.model.requests) == 2
        assert [t[0] for t in stored_turns(bot)] == ["one", "two"]

    async def test_someone_elses_edit_in_a_group_is_ignored(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """An edit from another account (an admin's edit of a channel post, say) is ignored."""
        sent = bot.telegram.send_group_text(GROUP, "@test_llm_bot one", user_id=7, first_name="Ann")
        await answer_in(bot, GROUP)
        text = "@test_llm_bot two"
        other = dict(sent["message"], text=text, edit_date=int(time.time()))
        other["from"] = {"id": 8, "is_bot": False, "first_name": "Bob"}
        other["entities"] = auto_entities(text)
        bot.telegram.push_update({"edited_message": other})
        [event] = await logs.wait_for("edit_ignored")
        assert event["reason"] == "not_the_asker"
