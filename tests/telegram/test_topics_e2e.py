"""End to end: forum topics and private-chat topics are conversations of their own.

Each topic has its own memory (asserted on what the model is sent), and everything the bot
says about a question (typing, streamed drafts and messages, their edits, the answer, command
replies, late delivery after a crash) lands in the topic it was asked in.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

from tests.fakes.openai import Block
from tests.fakes.telegram import ApiCall
from tests.support.chats import answer_in, user_messages
from tests.support.database import database
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until

FORUM = -100700
PRIVATE_TOPICS = 3001
ALICE = 7
BOT = "@test_llm_bot"
ANSWER_METHODS = ("sendMessage", "sendMessageDraft", "sendChatAction", "editMessageText")


def answer_calls(bot: RunningBot, chat_id: int) -> list[ApiCall]:
    """The bot's calls that show an answer (or its coming) in a chat, in order."""
    return [
        call
        for call in bot.telegram.calls
        if call.method in ANSWER_METHODS and str(call.chat_id) == str(chat_id)
    ]


def call_topic(bot: RunningBot, chat_id: int, call: ApiCall) -> int | None:
    """The topic a call is aimed at; an edit has none of its own: that of the edited message."""
    if call.method != "editMessageText":
        return call.thread_id
    edited = next(
        m
        for m in bot.telegram.messages(chat_id, include_deleted=True)
        if m.message_id == int(call.params["message_id"])
    )
    return edited.thread_id


def topics_of_answers(bot: RunningBot, chat_id: int) -> list[int | None]:
    return [call_topic(bot, chat_id, call) for call in answer_calls(bot, chat_id)]


async def ask_in_topic(bot: RunningBot, text: str, thread: int | None, count: int) -> str:
    """Ask in a topic of FORUM (None: General); wait for the chat's `count`-th answer to end."""
    bot.telegram.send_topic_text(FORUM, f"{BOT} {text}", ALICE, "Alice", thread_id=thread)
    await answer_in(bot, FORUM, count)
    await until(
        lambda: bot.telegram.messages(FORUM)[count - 1].text == f"echo: Alice: {text}",
        "the streamed answer never became final",
    )
    return bot.telegram.messages(FORUM)[count - 1].text


class TestForumTopics:
    async def test_two_topics_keep_separate_memories(self, bot: RunningBot) -> None:
        """Each topic's questions reach the model with that topic's history only, and every
        answer call (typing, the streamed message, its edits) goes to the topic asked in."""
        bot.model.default_chunks, bot.model.default_chunk_delay = 4, 0.1  # streamed in steps
        bot.telegram.forum_chat(FORUM)
        travel = bot.telegram.create_topic(FORUM, "Travel", ALICE)
        work = bot.telegram.create_topic(FORUM, "Work", ALICE)
        await ask_in_topic(bot, "I fly to Lisbon", travel, 1)
        await ask_in_topic(bot, "The deadline is Friday", work, 2)
        calls_before = len(answer_calls(bot, FORUM))
        await ask_in_topic(bot, "Where do I fly?", travel, 3)
        assert user_messages(bot.model.requests[-1].messages) == [
            "Alice: I fly to Lisbon",
            "Alice: Where do I fly?",
        ]
        assert user_messages(bot.model.requests[1].messages) == ["Alice: The deadline is Friday"]
        answers = bot.telegram.messages(FORUM)
        assert [m.thread_id for m in answers] == [travel, work, travel]
        assert set(topics_of_answers(bot, FORUM)[calls_before:]) == {travel}
        assert None not in topics_of_answers(bot, FORUM)
        methods = {call.method for call in answer_calls(bot, FORUM)}
        assert {"sendChatAction", "sendMessage", "editMessageText"} <= methods

    async def test_clear_in_one_topic_leaves_the_other(self, bot: RunningBot) -> None:
        """/clear forgets the topic it is sent in, says so there, and the other topic still
        remembers."""
        bot.telegram.forum_chat(FORUM)
        bot.telegram.set_chat_admins(FORUM, [ALICE])
        travel = bot.telegram.create_topic(FORUM, "Travel", ALICE)
        work = bot.telegram.create_topic(FORUM, "Work", ALICE)
        await ask_in_topic(bot, "I fly to Lisbon", travel, 1)
        await ask_in_topic(bot, "The deadline is Friday", work, 2)
        bot.telegram.send_topic_text(FORUM, "/clear", ALICE, "Alice", thread_id=travel)
        await answer_in(bot, FORUM, 3)
        cleared = bot.telegram.messages(FORUM)[2]
        assert cleared.thread_id == travel
        await ask_in_topic(bot, "Where do I fly?", travel, 4)
        assert user_messages(bot.model.requests[-1].messages) == ["Alice: Where do I fly?"]
        await ask_in_topic(bot, "When is it due?", work, 5)
        assert user_messages(bot.model.requests[-1].messages) == [
            "Alice: The deadline is Friday",
            "Alice: When is it due?",
        ]

    async def test_general_topic_keeps_the_groups_history(self, bot: RunningBot) -> None:
        """A group that becomes a forum keeps its history in the General topic, which is
        answered without a topic id (Telegram refuses thread 1 for messages) and shows typing
        with thread 1 (General's id, the only way typing shows there); a new topic starts
        empty."""
        bot.telegram.send_group_text(FORUM, f"{BOT} I fly to Lisbon", ALICE, "Alice")
        await answer_in(bot, FORUM, 1)
        await until(lambda: "Lisbon" in bot.telegram.messages(FORUM)[0].text, "no final answer")
        bot.telegram.forum_chat(FORUM)
        topic = bot.telegram.create_topic(FORUM, "Work", ALICE)
        before = len(answer_calls(bot, FORUM))
        await ask_in_topic(bot, "Where do I fly?", None, 2)
        assert user_messages(bot.model.requests[-1].messages) == [
            "Alice: I fly to Lisbon",
            "Alice: Where do I fly?",
        ]
        general = answer_calls(bot, FORUM)[before:]
        assert {c.thread_id for c in general if c.method == "sendChatAction"} == {1}
        assert {call_topic(bot, FORUM, c) for c in general if c.method != "sendChatAction"} == {
            None
        }
        await ask_in_topic(bot, "Where do I fly?", topic, 3)
        assert user_messages(bot.model.requests[-1].messages) == ["Alice: Where do I fly?"]
        assert bot.telegram.messages(FORUM)[2].thread_id == topic

    async def test_topics_do_not_wait_for_each_other(self, bot: RunningBot) -> None:
        """While one topic's answer is still being written, another topic is answered."""
        bot.telegram.forum_chat(FORUM)
        slow = bot.telegram.create_topic(FORUM, "Slow", ALICE)
        fast = bot.telegram.create_topic(FORUM, "Fast", ALICE)
        release = asyncio.Event()
        bot.model.script(Block(release))
        bot.telegram.send_topic_text(FORUM, f"{BOT} think hard", ALICE, "Alice", thread_id=slow)
        await bot.model.wait_for_requests(1)
        bot.telegram.send_topic_text(FORUM, f"{BOT} quick one", ALICE, "Alice", thread_id=fast)
        await answer_in(bot, FORUM, 1)
        [first] = bot.telegram.messages(FORUM)
        assert first.thread_id == fast
        release.set()
        await answer_in(bot, FORUM, 2)
        assert bot.telegram.messages(FORUM)[1].thread_id == slow

    async def test_refusals_and_errors_are_told_in_the_topic(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A refused command and a failed handler are answered in the topic they came from."""
        bot.telegram.forum_chat(FORUM)
        topic = bot.telegram.create_topic(FORUM, "Work", ALICE)
        bot.telegram.send_topic_text(FORUM, "/clear", ALICE, "Alice", thread_id=topic)
        await answer_in(bot, FORUM, 1)
        refusal = bot.telegram.messages(FORUM)[0]
        assert "admin" in refusal.text and refusal.thread_id == topic
        bot.telegram.fail_next("sendMessage", 400, "Bad Request: odd", chat_id=FORUM)
        bot.telegram.send_topic_text(FORUM, "/stats", ALICE, "Alice", thread_id=topic)
        [error] = await logs.wait_for("handler_error")
        assert error["error_type"] == "BadRequest"
        await answer_in(bot, FORUM, 2)
        apology = bot.telegram.messages(FORUM)[1]
        assert apology.thread_id == topic

    async def test_reply_chain_of_a_plain_group_is_no_topic(self, bot: RunningBot) -> None:
        """In a group without topics a reply carries a thread id (its reply chain's): it is
        the group's one conversation, and the answer is sent without a thread id."""
        group = -100800
        bot.telegram.send_group_text(group, f"{BOT} I fly to Lisbon", ALICE, "Alice")
        await answer_in(bot, group, 1)
        await until(lambda: "Lisbon" in bot.telegram.messages(group)[0].text, "no final answer")
        mine = bot.telegram.messages(group)[0]
        bot.telegram.push_message(
            bot.telegram.chat(group),
            {"id": ALICE, "is_bot": False, "first_name": "Alice"},
            text="Where do I fly?",
            reply_to_message=bot.telegram.message_dict(group, mine.message_id),
            message_thread_id=mine.message_id,
        )
        await answer_in(bot, group, 2)
        assert user_messages(bot.model.requests[-1].messages)[0] == "Alice: I fly to Lisbon"
        assert set(topics_of_answers(bot, group)) == {None}


class TestPrivateChatTopics:
    async def test_each_topic_is_its_own_conversation(self, bot: RunningBot) -> None:
        """In a private chat with topics, each topic remembers only itself, and typing, the
        streamed drafts and the answer go to the topic asked in."""
        bot.model.default_chunks, bot.model.default_chunk_delay = 4, 0.1  # streamed in steps
        bot.telegram.private_topics(PRIVATE_TOPICS)
        cooking = bot.telegram.create_topic(PRIVATE_TOPICS, "Cooking")
        music = bot.telegram.create_topic(PRIVATE_TOPICS, "Music")
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "I like basil", cooking)
        await answer_in(bot, PRIVATE_TOPICS, 1)
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "I like jazz", music)
        await answer_in(bot, PRIVATE_TOPICS, 2)
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "What do I like?", cooking)
        await answer_in(bot, PRIVATE_TOPICS, 3)
        assert user_messages(bot.model.requests[-1].messages) == ["I like basil", "What do I like?"]
        answers = bot.telegram.messages(PRIVATE_TOPICS)
        assert [m.thread_id for m in answers] == [cooking, music, cooking]
        assert [m.text for m in answers][2] == "echo: What do I like?"
        assert None not in topics_of_answers(bot, PRIVATE_TOPICS)
        drafts = bot.telegram.draft_records(PRIVATE_TOPICS)
        assert drafts and {d.thread_id for d in drafts} <= {cooking, music}
        assert {call.method for call in answer_calls(bot, PRIVATE_TOPICS)} == {
            "sendChatAction",
            "sendMessageDraft",
            "sendMessage",
        }

    async def test_commands_answer_in_the_topic(self, bot: RunningBot) -> None:
        """/stats in a topic answers in that topic, about that topic's conversation."""
        bot.telegram.private_topics(PRIVATE_TOPICS)
        cooking = bot.telegram.create_topic(PRIVATE_TOPICS, "Cooking")
        music = bot.telegram.create_topic(PRIVATE_TOPICS, "Music")
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "I like basil", cooking)
        await answer_in(bot, PRIVATE_TOPICS, 1)
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "/clear", music)
        await answer_in(bot, PRIVATE_TOPICS, 2)
        reply = bot.telegram.messages(PRIVATE_TOPICS)[1]
        assert reply.thread_id == music
        bot.telegram.send_private_topic_text(PRIVATE_TOPICS, "Still there?", cooking)
        await answer_in(bot, PRIVATE_TOPICS, 3)
        assert user_messages(bot.model.requests[-1].messages) == ["I like basil", "Still there?"]


def leave_turn(bot: RunningBot, key: str, text: str, *, answer: str | None = None) -> None:
    """Leave a turn in the database as a crash would: pending, or generated with `answer`."""
    now = time.time()
    with sqlite3.connect(database(bot)) as db:
        db.execute(
            "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, text, answer, "generated" if answer else "pending", now, now),
        )


class TestRecoveryInTopics:
    async def test_unfinished_turns_are_finished_in_their_topics(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """After a crash, a stored answer is delivered and a pending question answered, each
        in the topic it was asked in (read back from the stored key)."""
        bot.telegram.forum_chat(FORUM)
        travel = bot.telegram.create_topic(FORUM, "Travel", ALICE)
        work = bot.telegram.create_topic(FORUM, "Work", ALICE)
        await bot.stop()
        leave_turn(bot, f"tg:{FORUM}:t{travel}", "Where do I fly?", answer="To Lisbon")
        leave_turn(bot, f"tg:{FORUM}:t{work}", "When is it due?")
        await bot.start()
        await answer_in(bot, FORUM, 2, timeout=20)
        await logs.wait_for("reply_finished", 2)
        await quiet_for(bot)
        by_text = {m.text: m.thread_id for m in bot.telegram.messages(FORUM)}
        assert by_text == {"To Lisbon": travel, "echo: When is it due?": work}
        assert user_messages(bot.model.requests[-1].messages) == ["When is it due?"]
        assert None not in topics_of_answers(bot, FORUM)
