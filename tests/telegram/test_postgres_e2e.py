"""End to end on PostgreSQL: the real bot with DATABASE_URL=postgresql://..., chatting over
the fake Telegram, killed mid-answer and restarted: the same guarantees as on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai import Block
from tests.support.botprocess import BotProcess, UnconfirmedUpdates
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.services import PostgresSchema, postgres_rows, postgres_schema
from tests.support.waiting import quiet_for

TURNS = "SELECT user_text, state, answer FROM turns ORDER BY id"


@pytest.fixture
async def schema() -> AsyncIterator[PostgresSchema]:
    async with postgres_schema() as made:
        yield made


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], schema: PostgresSchema, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The usual environment, on a PostgreSQL schema of the test's own."""
    bot_env["DATABASE_URL"] = schema.url
    monkeypatch.setenv("DATABASE_URL", schema.url)
    return bot_env


class TestOnPostgres:
    async def test_conversation_is_stored_and_remembered(
        self, bot: RunningBot, schema: PostgresSchema, logs: LogCapture
    ) -> None:
        """Two messages are answered; the second request carries the first exchange, and
        both turns are stored answered in PostgreSQL. Without REDIS_URL the bot warns that
        limits are per process."""
        bot.telegram.send_private_text(PRIVATE, "first")
        assert await answer_in(bot, PRIVATE) == "echo: first"
        bot.telegram.send_private_text(PRIVATE, "second")
        assert await answer_in(bot, PRIVATE, 2) == "echo: second"
        contents = [m["content"] for m in bot.model.requests[-1].messages]
        assert "first" in contents and "echo: first" in contents
        assert await postgres_rows(schema.url, TURNS) == [
            ("first", "answered", "echo: first"),
            ("second", "answered", "echo: second"),
        ]
        [opened] = logs.named("database_opened")
        assert opened["backend"] == "postgresql"
        [per_process] = logs.named("limits_per_process")  # no REDIS_URL: said at start-up
        assert per_process["level"] == "warning"

    async def test_killed_mid_answer_is_answered_once_after_restart(
        self, bot: RunningBot, schema: PostgresSchema, logs: LogCapture
    ) -> None:
        """A bot process killed (SIGKILL) while the model works: after the restart the
        message is answered once, and stored once."""
        await bot.stop()
        held = UnconfirmedUpdates(bot.telegram)
        process = await BotProcess.start(bot.env, bot.telegram)
        bot.model.script(Block(asyncio.Event()))  # never answers
        bot.telegram.send_private_text(PRIVATE, "question")
        await bot.model.wait_for_requests(1, timeout=30)
        await process.kill()
        held.release()
        await bot.start()
        assert await answer_in(bot, PRIVATE, timeout=30) == "echo: question"
        await logs.wait_for("duplicate_message_ignored", timeout=30)
        await quiet_for(bot)
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: question"]
        assert await postgres_rows(schema.url, TURNS) == [
            ("question", "answered", "echo: question")
        ]
