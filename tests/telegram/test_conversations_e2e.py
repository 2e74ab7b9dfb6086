"""End to end: several conversations in one chat (/new, /chats and its buttons).

Each conversation has its own history and summary (asserted on what the model is sent);
settings stay the chat's; titles are written by the model in the background.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bot.engine.conversation.folding import INSTRUCTIONS
from bot.engine.conversation.titles import INSTRUCTION
from tests.fakes._oai_payloads import echo_reply
from tests.fakes.openai import ChatRequest
from tests.support.chats import PRIVATE, answer_in, say, user_messages
from tests.support.database import db_rows
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until

FORUM = -100800
ALICE = 7
BOT = "@test_llm_bot"
TITLE = "Lisbon trip"


SUMMARY = "The user is someone."


def is_title(request: ChatRequest) -> bool:
    return request.messages[0]["content"] == INSTRUCTION


def is_summary(request: ChatRequest) -> bool:
    return str(request.messages[0]["content"]).startswith(INSTRUCTIONS[:40])


def answers(bot: RunningBot) -> list[ChatRequest]:
    """The model requests that answered questions (not titles, not summaries)."""
    return [r for r in bot.model.requests if not is_title(r) and not is_summary(r)]


def summarised(messages: list[dict[str, Any]]) -> str:
    if str(messages[0]["content"]).startswith(INSTRUCTIONS[:40]):
        return SUMMARY
    return echo_reply(messages)


def titled(messages: list[dict[str, Any]]) -> str:
    return TITLE if messages[0]["content"] == INSTRUCTION else echo_reply(messages)


async def press(bot: RunningBot, data: str, message_index: int) -> None:
    """Tap a button of the bot's `message_index`-th private message; wait for its edit."""
    message = bot.telegram.messages(PRIVATE)[message_index]
    before = len(bot.telegram.calls)
    bot.telegram.push_callback_query(PRIVATE, PRIVATE, data, message.message_id)
    await bot.telegram.wait_for_call("editMessageText", since=before)


def buttons(bot: RunningBot, message_index: int) -> list[tuple[str, str]]:
    markup = bot.telegram.messages(PRIVATE)[message_index].reply_markup
    assert markup is not None
    return [(row[0]["text"], row[0]["callback_data"]) for row in markup["inline_keyboard"]]


class TestNewAndSwitchBack:
    async def test_new_keeps_the_old_and_starts_empty(self, bot: RunningBot) -> None:
        """/new: the next question goes without the old turns; the old ones stay stored."""
        await say(bot, "I fly to Lisbon", 1)
        assert "New conversation" in await say(bot, "/new", 2)
        await say(bot, "Where do I fly?", 3)
        assert user_messages(answers(bot)[-1].messages) == ["Where do I fly?"]
        stored = db_rows(bot, "SELECT chat_id, user_text FROM turns ORDER BY id")
        assert stored == [
            (f"tg:{PRIVATE}", "I fly to Lisbon"),
            (f"tg:{PRIVATE}:c2", "Where do I fly?"),
        ]

    async def test_chats_lists_both_and_a_button_switches_back(self, bot: RunningBot) -> None:
        """/chats lists both conversations, the current one marked; tapping the first goes
        back to it: the next request carries its history, not the second's."""
        await bot.restart(CONVERSATION_TITLES="false")
        await say(bot, "I fly to Lisbon", 1)
        await say(bot, "/new", 2)
        await say(bot, "The deadline is Friday", 3)
        await say(bot, "/chats", 4)
        assert buttons(bot, 3) == [
            ("✅ The deadline is Friday", "chat:2"),
            ("I fly to Lisbon", "chat:1"),
        ]
        await press(bot, "chat:1", 3)
        assert "I fly to Lisbon" in bot.telegram.messages(PRIVATE)[3].text
        await say(bot, "Where do I fly?", 5)
        assert user_messages(answers(bot)[-1].messages) == ["I fly to Lisbon", "Where do I fly?"]
        await say(bot, "/chats", 6)
        assert buttons(bot, 5)[0] == ("✅ I fly to Lisbon", "chat:1")

    async def test_clear_in_the_second_leaves_the_first(self, bot: RunningBot) -> None:
        """/clear forgets only the current conversation."""
        await say(bot, "I fly to Lisbon", 1)
        await say(bot, "/new", 2)
        await say(bot, "second one", 3)
        assert "forgotten" in await say(bot, "/clear", 4)
        assert db_rows(bot, "SELECT chat_id FROM turns") == [(f"tg:{PRIVATE}",)]

    async def test_settings_are_the_chats(self, bot: RunningBot) -> None:
        """/model in conversation 2 applies to conversation 1 too (settings are the chat's)."""
        wanted = "gpt-other"
        await say(bot, "/new", 1)
        await say(bot, "/model", 2)
        assert "switched" in await say(bot, f"/model {wanted}", 3)
        await say(bot, "/chats", 4)
        await press(bot, "chat:1", 3)
        await say(bot, "hello", 5)
        assert user_messages(answers(bot)[-1].messages) == ["hello"]
        assert answers(bot)[-1].body["model"] == wanted
        assert db_rows(bot, "SELECT chat_id FROM chats WHERE model IS NOT NULL") == [
            (f"tg:{PRIVATE}",)
        ]


class TestTitles:
    async def test_title_made_in_the_background_and_shown(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """The first answer of conversation 2, and the conversation /new left, get titles
        from the model; /chats shows them; the title request is charged like a summary."""
        bot.model.reply_with(titled)
        await say(bot, "I fly to Lisbon", 1)
        await say(bot, "/new", 2)
        await logs.wait_for("conversation_titled")
        await say(bot, "Plan the budget", 3)
        await until(lambda: len(logs.named("conversation_titled")) == 2, "no second title")
        title_requests = [r for r in bot.model.requests if is_title(r)]
        assert len(title_requests) == 2
        assert "I fly to Lisbon" in str(title_requests[0].messages[1]["content"])
        assert "Plan the budget" in str(title_requests[1].messages[1]["content"])
        await say(bot, "/chats", 4)
        assert [text for text, _ in buttons(bot, 3)] == [f"✅ {TITLE}", TITLE]
        charged = db_rows(
            bot, "SELECT chat_id, user_id FROM usage WHERE turn_id IS NULL ORDER BY id"
        )  # the titles' usage: to the conversation and the user, like a summary's
        assert charged == [(f"tg:{PRIVATE}", str(PRIVATE)), (f"tg:{PRIVATE}:c2", str(PRIVATE))]

    async def test_no_title_requests_when_off(self, bot: RunningBot) -> None:
        """CONVERSATION_TITLES=false: no title request; titles are the first words."""
        await bot.restart(CONVERSATION_TITLES="false")
        await say(bot, "I fly to Lisbon next week with my sister and her dog", 1)
        await say(bot, "/new", 2)
        await say(bot, "second", 3)
        await quiet_for(bot)
        assert not any(is_title(r) for r in bot.model.requests)
        await say(bot, "/chats", 4)
        assert [text for text, _ in buttons(bot, 3)] == [
            "✅ second",
            "I fly to Lisbon next week…",
        ]


class TestForumTopic:
    ENV: ClassVar[dict[str, str]] = {"GROUP_SETTINGS_ADMINS_ONLY": "false"}

    async def test_new_in_a_topic_is_per_topic(self, bot: RunningBot) -> None:
        """/new in one topic starts a new conversation there only; the other topic keeps its
        memory, and answers stay in their topics."""
        bot.telegram.forum_chat(FORUM)
        travel = bot.telegram.create_topic(FORUM, "Travel", ALICE)
        work = bot.telegram.create_topic(FORUM, "Work", ALICE)

        async def ask(text: str, thread: int, count: int) -> None:
            bot.telegram.send_topic_text(FORUM, text, ALICE, "Alice", thread_id=thread)
            await answer_in(bot, FORUM, count)

        await ask(f"{BOT} I fly to Lisbon", travel, 1)
        await ask(f"{BOT} Deadline Friday", work, 2)
        await ask("/new", travel, 3)
        await ask(f"{BOT} Where do I fly?", travel, 4)
        await until(lambda: len(answers(bot)) == 3, "no third answer")
        assert user_messages(answers(bot)[-1].messages) == ["Alice: Where do I fly?"]
        await ask(f"{BOT} When is it due?", work, 5)
        await until(lambda: len(answers(bot)) == 4, "no fourth answer")
        assert user_messages(answers(bot)[-1].messages) == [
            "Alice: Deadline Friday",
            "Alice: When is it due?",
        ]
        keys = {row[0] for row in db_rows(bot, "SELECT chat_id FROM turns")}
        assert keys == {f"tg:{FORUM}:t{travel}", f"tg:{FORUM}:t{travel}:c2", f"tg:{FORUM}:t{work}"}


class TestSummaries:
    ENV: ClassVar[dict[str, str]] = {
        "SUMMARY_ENABLED": "true",
        "MAX_HISTORY_MESSAGES": "5",
        "SUMMARY_MIN_TURNS": "2",
        "CONVERSATION_TITLES": "false",
    }

    async def test_each_conversation_has_its_own_summary(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Conversation 1's summary never reaches conversation 2's requests; each conversation
        folds its own turns into its own summary."""
        bot.model.reply_with(summarised)
        for n, text in enumerate(["My name is Ada", "I like tea", "What's new?"]):
            await say(bot, text, n + 1)
        await logs.wait_for("summary_saved")
        await say(bot, "/new", 4)
        for n, text in enumerate(["Call me Bob", "I like coffee", "Anything else?"]):
            await say(bot, text, n + 5)
            assert not any(SUMMARY in str(m["content"]) for m in answers(bot)[-1].messages)
        await until(lambda: len(logs.named("summary_saved")) == 2, "no second summary")
        rows = db_rows(bot, "SELECT chat_id FROM chat_summaries ORDER BY chat_id")
        assert rows == [(f"tg:{PRIVATE}",), (f"tg:{PRIVATE}:c2",)]
        await say(bot, "Who am I?", 8)
        assert user_messages(answers(bot)[-1].messages)[0].endswith(SUMMARY)
        assert "Anything else?" in user_messages(answers(bot)[-1].messages)
        assert "What's new?" not in user_messages(answers(bot)[-1].messages)
