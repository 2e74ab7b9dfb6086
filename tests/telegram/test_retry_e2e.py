"""End to end: /retry asks again and the new answer takes the old one's place in the history."""

from __future__ import annotations

from bot.engine import errors
from tests.fakes.openai import Error, Reply
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot


def history_of_last_request(bot: RunningBot) -> list[str]:
    return [m["content"] for m in bot.model.requests[-1].messages[1:]]


async def say(bot: RunningBot, text: str, count: int) -> str:
    bot.telegram.send_private_text(PRIVATE, text)
    return await answer_in(bot, PRIVATE, count, timeout=20)


class TestRetry:
    async def test_new_answer_replaces_the_old(self, bot: RunningBot, logs: LogCapture) -> None:
        """/retry answers the last question again; afterwards only the new answer is remembered."""
        await say(bot, "first", 1)
        await say(bot, "tell me a joke", 2)
        bot.model.script(Reply("a better joke"))
        assert await say(bot, "/retry", 3) == "a better joke"
        assert history_of_last_request(bot) == ["first", "echo: first", "tell me a joke"]
        await logs.wait_for("reply_finished", 3)
        await say(bot, "another", 4)
        assert history_of_last_request(bot) == [
            "first",
            "echo: first",
            "tell me a joke",
            "a better joke",
            "another",
        ]
        await logs.wait_for("reply_finished", 4)
        assert [t[:2] for t in stored_turns(bot)] == [
            ("first", "answered"),
            ("tell me a joke", "answered"),
            ("another", "answered"),
        ]
        assert "Messages in memory: 6" in await say(bot, "/stats", 5)

    async def test_failed_retry_keeps_the_old_answer(self, bot: RunningBot) -> None:
        """When the new answer fails, the user is told and the old answer stays in the history."""
        await say(bot, "question", 1)
        bot.model.script(Error(400, "no", code="invalid_value"))
        assert await say(bot, "/retry", 2) == errors.ModelRejected.user_message
        await say(bot, "next", 3)
        assert history_of_last_request(bot) == ["question", "echo: question", "next"]

    async def test_retry_after_a_failure_asks_again(self, bot: RunningBot) -> None:
        """/retry after a failed answer asks the same question again."""
        await bot.restart(OPENAI_MAX_RETRIES="0")
        bot.model.script(Error(503, "down"))
        assert await say(bot, "question", 1) == errors.ModelUnavailable.user_message
        assert await say(bot, "/retry", 2) == "echo: question"
        await say(bot, "next", 3)
        assert history_of_last_request(bot) == ["question", "echo: question", "next"]

    async def test_nothing_to_retry(self, bot: RunningBot) -> None:
        """/retry in a chat with no answer yet says so and asks the model nothing."""
        assert await say(bot, "/retry", 1) == errors.NothingToRetry.user_message
        assert bot.model.requests == []

    async def test_retry_in_a_group_replies_to_the_question(self, bot: RunningBot) -> None:
        """In a group, /retry answers as a reply to the question it answers again."""
        question = bot.telegram.send_group_text(
            GROUP, "@test_llm_bot what now?", user_id=7, first_name="Alice"
        )
        await answer_in(bot, GROUP, 1)
        bot.telegram.send_group_text(GROUP, "/retry", user_id=8, first_name="Bob")
        assert await answer_in(bot, GROUP, 2) == "echo: Alice: what now?"
        assert (
            bot.telegram.messages(GROUP)[1].reply_to_message_id
            == (question["message"]["message_id"])
        )
