"""End to end: stopping an answer while the model writes it (/stop, the Stop button, a draft's
own stop). The model request is cancelled, the part written is kept and shown as stopped, stored
as the answer, and the next question is answered as usual."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.fakes._tg_models import SentMessage
from tests.fakes.openai import Reply
from tests.support.chats import GROUP, PRIVATE, answer_in, user_messages
from tests.support.database import database, stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import until

ASKER, OTHER, ADMIN = 7, 8, 9
LONG = "one two three four five six seven eight nine ten eleven twelve"
STOPPED = "⏹ Stopped."


def held(hold: asyncio.Event, after: int = 2) -> Reply:
    """A reply that streams `after` chunks, then waits for `hold` (the model still writing)."""
    return Reply(LONG, chunks=6, hold=hold, hold_after=after)


def stop_data(message: SentMessage) -> str:
    """The callback data of the Stop button under a streamed message."""
    assert message.reply_markup is not None, "no Stop button"
    [[button]] = message.reply_markup["inline_keyboard"]
    assert button["text"] == "⏹ Stop"
    return str(button["callback_data"])


def stored_answers(bot: RunningBot) -> list[tuple[str, str | None]]:
    with sqlite3.connect(database(bot)) as db:
        return db.execute("SELECT state, answer FROM turns ORDER BY id").fetchall()


async def streaming_in_group(bot: RunningBot, hold: asyncio.Event) -> SentMessage:
    """A member asks in the group; returns the streamed message once it shows the Stop button."""
    bot.model.script(held(hold))
    bot.telegram.send_group_text(GROUP, "@test_llm_bot count", user_id=ASKER, first_name="Ann")
    await until(
        lambda: any(m.reply_markup for m in bot.telegram.messages(GROUP)), "a streamed message"
    )
    return bot.telegram.messages(GROUP)[0]


async def assert_stopped(bot: RunningBot, logs: LogCapture, chat: int) -> str:
    """The answer is shown and stored as its written part + the stop mark; returns the text."""
    [event] = await logs.wait_for("answer_stopped")
    await logs.wait_for("reply_finished")
    text = bot.telegram.messages(chat)[0].text
    assert text.endswith(STOPPED) and text != STOPPED
    assert text.removesuffix(STOPPED).strip() in LONG
    assert bot.telegram.messages(chat)[0].reply_markup is None  # the button is gone
    assert stored_answers(bot)[0] == ("answered", text)
    assert event["turn_id"] == 1
    assert bot.model.requests[0].finished_at is None  # the model's stream was cut short
    return text


class TestStopButton:
    async def test_asker_stops_mid_stream(self, bot: RunningBot, logs: LogCapture) -> None:
        """The asker taps Stop: the request is cancelled, the part kept and marked, and the
        next question gets a normal answer with the stopped one in its history."""
        hold = asyncio.Event()
        message = await streaming_in_group(bot, hold)
        bot.telegram.push_callback_query(
            GROUP, ASKER, stop_data(message), message=message.message_id
        )
        text = await assert_stopped(bot, logs, GROUP)
        [usage] = await logs.wait_for("reply_finished")
        assert usage["usage_estimated"] is True and usage["completion_tokens"] > 0
        hold.set()
        bot.telegram.send_group_text(GROUP, "@test_llm_bot next", user_id=ASKER, first_name="Ann")
        assert await answer_in(bot, GROUP, 2) == "echo: Ann: next"
        history = [m["content"] for m in bot.model.requests[-1].messages[1:]]
        assert history == ["Ann: count", text, "Ann: next"]

    async def test_another_member_cannot_stop(self, bot: RunningBot, logs: LogCapture) -> None:
        """A member who did not ask is told so, and the answer goes on to the end."""
        hold = asyncio.Event()
        message = await streaming_in_group(bot, hold)
        update = bot.telegram.push_callback_query(
            GROUP, OTHER, stop_data(message), message=message.message_id
        )
        query_id = update["callback_query"]["id"]
        await until(lambda: query_id in bot.telegram.callback_answers, "the tap answered")
        assert "Only the one who asked" in bot.telegram.callback_answers[query_id]["text"]
        hold.set()
        await logs.wait_for("reply_finished")
        assert bot.telegram.messages(GROUP)[0].text == LONG
        assert logs.named("answer_stopped") == []

    async def test_group_admin_may_stop(self, bot: RunningBot, logs: LogCapture) -> None:
        """A group admin may stop someone else's answer."""
        bot.telegram.set_chat_admins(GROUP, [ADMIN])
        hold = asyncio.Event()
        message = await streaming_in_group(bot, hold)
        bot.telegram.push_callback_query(
            GROUP, ADMIN, stop_data(message), message=message.message_id
        )
        await assert_stopped(bot, logs, GROUP)
        hold.set()


class TestStopCommand:
    async def test_stop_mid_stream_in_a_private_chat(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """/stop during a private draft stops the answer; it is sent as the part + the mark.
        The drafts carry Telegram's own stop control (can_stop)."""
        hold = asyncio.Event()
        bot.model.script(held(hold))
        bot.telegram.send_private_text(PRIVATE, "count")
        draft = await bot.telegram.wait_for_call("sendMessageDraft", timeout=15)
        assert draft.params.get("can_stop") is True
        bot.telegram.send_private_text(PRIVATE, "/stop")
        await assert_stopped(bot, logs, PRIVATE)
        hold.set()
        assert len(bot.telegram.messages(PRIVATE)) == 1  # /stop itself says nothing more
        bot.telegram.send_private_text(PRIVATE, "again")
        assert await answer_in(bot, PRIVATE, 2) == "echo: again"
        assert user_messages(bot.model.requests[-1].messages) == ["count", "again"]

    async def test_nothing_to_stop(self, bot: RunningBot) -> None:
        """/stop with no answer being written says so; the model is not asked."""
        bot.telegram.send_private_text(PRIVATE, "/stop")
        assert (await answer_in(bot, PRIVATE)).startswith("Nothing to stop")
        assert bot.model.requests == []
        assert stored_turns(bot) == []

    async def test_member_who_did_not_ask_cannot_stop(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """/stop from another member of the group is refused; the answer finishes."""
        hold = asyncio.Event()
        await streaming_in_group(bot, hold)
        bot.telegram.send_group_text(GROUP, "/stop", user_id=OTHER, first_name="Bob")
        assert "Only the one who asked" in await answer_in(bot, GROUP, 2)
        hold.set()
        await logs.wait_for("reply_finished")
        assert bot.telegram.messages(GROUP)[0].text == LONG


class TestNativeDraftStop:
    async def test_draft_stop_update_stops_the_answer(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Telegram's stopped_message_generation update (Bot API 10.3) stops the answer."""
        hold = asyncio.Event()
        bot.model.script(held(hold))
        bot.telegram.send_private_text(PRIVATE, "count")
        draft = await bot.telegram.wait_for_call("sendMessageDraft", timeout=15)
        chat = {"id": PRIVATE, "type": "private", "first_name": "Alice"}
        bot.telegram.push_update(
            {
                "stopped_message_generation": {
                    "chat": chat,
                    "draft_id": draft.params["draft_id"],
                }
            }
        )
        await assert_stopped(bot, logs, PRIVATE)
        hold.set()


class TestStopInTopics:
    FORUM = -100_555

    async def test_stop_in_one_topic_leaves_the_other(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """/stop in a forum topic stops that topic's answer, shown in the topic; an answer being
        written in another topic of the same group goes on to the end."""
        bot.telegram.forum_chat(self.FORUM)
        travel = bot.telegram.create_topic(self.FORUM, "Travel", ASKER)
        work = bot.telegram.create_topic(self.FORUM, "Work", ASKER)
        hold_travel, hold_work = asyncio.Event(), asyncio.Event()
        bot.model.script(held(hold_travel), held(hold_work))
        mention = "@test_llm_bot"
        bot.telegram.send_topic_text(self.FORUM, f"{mention} a", ASKER, "Ann", thread_id=travel)
        await until(lambda: len(bot.model.requests) == 1, "the travel request")
        bot.telegram.send_topic_text(self.FORUM, f"{mention} b", ASKER, "Ann", thread_id=work)
        await until(lambda: len(bot.model.requests) == 2, "the work request")
        await until(lambda: len(bot.telegram.messages(self.FORUM)) >= 2, "two streamed answers")
        bot.telegram.send_topic_text(self.FORUM, "/stop", ASKER, "Ann", thread_id=travel)
        [event] = await logs.wait_for("answer_stopped")
        hold_work.set()
        await until(lambda: len(logs.named("reply_finished")) == 2, "both answers finished")
        by_topic = {m.thread_id: m.text for m in bot.telegram.messages(self.FORUM)}
        assert by_topic[travel].endswith(STOPPED)
        assert by_topic[work] == LONG  # written to the end
        assert event["turn_id"] == 1  # the travel topic's turn
        assert bot.model.requests[0].finished_at is None
        assert bot.model.requests[1].finished_at is not None
        hold_travel.set()
