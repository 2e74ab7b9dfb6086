"""End to end: the bot process is killed (SIGKILL) at each point of an answer's life, restarted
over the same database, and every message is still answered exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from bot.engine import errors
from tests.fakes.openai import Block, Reply
from tests.fakes.telegram import ApiCall, ApiError
from tests.support.botprocess import BotProcess, UnconfirmedUpdates
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import database, integrity, stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for


async def crashed_bot(bot: RunningBot) -> tuple[BotProcess, UnconfirmedUpdates]:
    """The in-test bot is stopped; a real bot process runs instead, its updates unconfirmed."""
    await bot.stop()
    held = UnconfirmedUpdates(bot.telegram)
    return await BotProcess.start(bot.env, bot.telegram), held


async def restart_after_kill(
    bot: RunningBot, process: BotProcess, held: UnconfirmedUpdates
) -> None:
    await process.kill()
    held.release()
    await bot.start()


async def assert_answered_once(bot: RunningBot, logs: LogCapture, text: str) -> None:
    """One message in the chat, the right one; the re-sent update was recognised and ignored."""
    assert await answer_in(bot, PRIVATE, timeout=30) == text
    await logs.wait_for("reply_finished", timeout=30)
    await logs.wait_for("duplicate_message_ignored", timeout=30)
    await quiet_for(bot)  # room for a wrong second answer to show up
    assert [m.text for m in bot.telegram.messages(PRIVATE)] == [text]
    assert stored_turns(bot) == [("question", "answered", None)]
    assert integrity(database(bot)) == "ok"


class TestKilled:
    async def test_before_the_model_answered(self, bot: RunningBot, logs: LogCapture) -> None:
        """Killed while the model works: after the restart the model is asked again, once."""
        process, held = await crashed_bot(bot)
        bot.model.script(Block(asyncio.Event()))  # never answers
        bot.telegram.send_private_text(PRIVATE, "question")
        await bot.model.wait_for_requests(1, timeout=30)
        await restart_after_kill(bot, process, held)
        await assert_answered_once(bot, logs, "echo: question")
        assert len(bot.model.requests) == 2
        [recovering] = logs.named("turn_recovering")
        assert recovering["action"] == "answer" and recovering["state"] == "pending"

    async def test_mid_stream(self, bot: RunningBot, logs: LogCapture) -> None:
        """Killed while the answer streams in: the half answer is dropped, a whole one sent."""
        process, held = await crashed_bot(bot)
        words = " ".join(f"word{n}" for n in range(30))
        bot.model.script(Reply(words, chunks=10, chunk_delay=0.5))
        bot.telegram.send_private_text(PRIVATE, "question")
        await bot.model.wait_for_requests(1, timeout=30)
        await asyncio.sleep(1.2)  # a few chunks have arrived
        await restart_after_kill(bot, process, held)
        await assert_answered_once(bot, logs, "echo: question")
        assert len(bot.model.requests) == 2

    async def test_after_the_answer_was_stored(self, bot: RunningBot, logs: LogCapture) -> None:
        """Killed as the answer was being sent: it is delivered after the restart, quoting the
        question, without asking the model again."""
        process, held = await crashed_bot(bot)

        async def kill_on_send(call: ApiCall) -> None:
            if process.process.returncode is None and call.params.get("text") == "echo: question":
                await process.kill()
                raise ApiError(500, "Internal Server Error")  # never seen: the bot is dead

        bot.telegram.on_call("sendMessage", kill_on_send)
        question = bot.telegram.send_private_text(PRIVATE, "question")
        await asyncio.wait_for(process.wait(), 30)
        await restart_after_kill(bot, process, held)
        await assert_answered_once(bot, logs, "echo: question")
        assert len(bot.model.requests) == 1
        [recovering] = logs.named("turn_recovering")
        assert recovering["action"] == "deliver" and recovering["state"] == "generated"
        [sent] = bot.telegram.messages(PRIVATE)
        assert sent.reply_to_message_id == question["message"]["message_id"]


OTHER = PRIVATE + 1


def insert_turn(bot: RunningBot, text: str, *, age: float = 0.0, answer: str | None = None) -> None:
    """Leave a turn in the database as a crash would: pending, or generated with `answer`."""
    now = time.time()
    with sqlite3.connect(database(bot)) as db:
        db.execute(
            "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (f"tg:{PRIVATE}", text, answer, "generated" if answer else "pending", now - age, now),
        )


class TestRestart:
    async def test_old_message_first_and_polling_not_delayed(self, bot: RunningBot) -> None:
        """A chat's unfinished message is answered before its new one; polling starts at once
        and other chats are answered while recovery waits on the model."""
        await bot.stop()
        insert_turn(bot, "old question")
        release = asyncio.Event()
        bot.model.script(Block(release))
        await bot.start()
        [first] = await bot.model.wait_for_requests(1, timeout=20)
        assert first.messages[-1]["content"] == "old question"
        bot.telegram.send_private_text(PRIVATE, "new question")
        bot.telegram.send_private_text(OTHER, "elsewhere")
        assert await answer_in(bot, OTHER, timeout=20) == "echo: elsewhere"
        assert bot.telegram.messages(PRIVATE) == []
        release.set()
        await answer_in(bot, PRIVATE, 2, timeout=20)
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert texts == ["echo: old question", "echo: new question"]
        last = bot.model.requests[-1].messages
        assert [m["content"] for m in last[1:]] == [
            "old question",
            "echo: old question",
            "new question",
        ]

    async def test_too_old_is_told_sorry_but_a_stored_answer_is_sent(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """After a long outage a message that still needs the model gets an apology; an answer
        that was already written is delivered however late; the model is not asked."""
        await bot.stop()
        insert_turn(bot, "stale question", age=7200)
        insert_turn(bot, "answered question", age=7200, answer="late answer")
        await bot.start()
        await answer_in(bot, PRIVATE, 2, timeout=20)
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert texts == [errors.Expired.user_message, "late answer"]
        assert bot.model.requests == []
        await logs.wait_for("reply_finished", 2)
        assert stored_turns(bot) == [
            ("stale question", "failed", "expired"),
            ("answered question", "answered", None),
        ]
        actions = [e["action"] for e in logs.named("turn_recovering")]
        assert actions == ["expire", "deliver"]

    async def test_message_kept_by_telegram_too_long_gets_sorry(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A message Telegram delivers hours late (the bot was down) gets the apology only."""
        bot.telegram.push_message(
            {"id": PRIVATE, "type": "private", "first_name": "Alice"},
            {"id": PRIVATE, "is_bot": False, "first_name": "Alice"},
            text="still there?",
            date=int(time.time()) - 7200,
        )
        assert await answer_in(bot, PRIVATE) == errors.Expired.user_message
        await logs.wait_for("reply_finished")
        assert bot.model.requests == []
        assert stored_turns(bot) == [("still there?", "failed", "expired")]

    async def test_stop_mid_stream_answers_after_restart(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """SIGTERM while an answer streams and the grace period runs out: the turn is left
        pending and answered, once, after the restart."""
        await bot.restart(SHUTDOWN_GRACE_SECONDS="0.5")
        words = " ".join(f"word{n}" for n in range(30))
        bot.model.script(Reply(words, chunks=10, chunk_delay=0.5))
        bot.telegram.send_private_text(PRIVATE, "question")
        await bot.model.wait_for_requests(1, timeout=20)
        await bot.stop()
        assert logs.named("shutdown_grace_expired")
        assert stored_turns(bot) == [("question", "pending", None)]
        await bot.start()
        assert await answer_in(bot, PRIVATE, timeout=20) == "echo: question"
        await logs.wait_for("reply_finished")
        assert [m.text for m in bot.telegram.messages(PRIVATE)] == ["echo: question"]
        assert stored_turns(bot) == [("question", "answered", None)]
