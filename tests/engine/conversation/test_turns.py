"""A turn's life in the conversation engine: stored, generated, delivered or failed; retried;
finished by recovery after a crash.

Driven through the fake OpenAI server and the real SQLite repositories on a temporary file
(fixtures in conftest.py); what is stored is read back through the repositories.
"""

from __future__ import annotations

import pytest

from bot.engine import errors
from bot.engine.conversation.recovery import Action
from bot.engine.conversation.turns import Conversation, Reply
from bot.storage.errors import StorageError
from bot.storage.records import NewTurn, Turn, TurnState
from bot.storage.repositories import Stores
from bot.storage.sqlite import Database
from tests.fakes.openai import Error, FakeOpenAI
from tests.fakes.openai import Reply as Scripted
from tests.support.clock import FakeClock
from tests.support.engine import MAX_AGE
from tests.support.running import LogCapture

CHAT = "tg:1"


async def submit(chat: Conversation, text: str, key: str | None = None) -> Turn:
    turn = await chat.submit(NewTurn(CHAT, text, source_key=key or text, user_id="7"))
    assert turn is not None
    return turn


async def answered(chat: Conversation, text: str) -> Reply:
    """Ask, generate and deliver one turn."""
    reply = await chat.generate(await submit(chat, text))
    await chat.delivered(reply)
    return reply


async def stored(stores: Stores, turn: Turn) -> Turn:
    now = await stores.turns.get(turn.id)
    assert now is not None
    return now


def contents(model: FakeOpenAI) -> list[str]:
    """The message texts of the last request the model received."""
    return [m["content"] for m in model.requests[-1].messages]


class TestTurnLife:
    async def test_submit_stores_a_pending_turn(self, chat: Conversation, stores: Stores) -> None:
        """A submitted message is stored first, pending, before the model is asked."""
        turn = await submit(chat, "hello")
        assert turn.state is TurnState.PENDING and turn.answer is None
        assert await stored(stores, turn) == turn
        assert await chat.unfinished() == [turn]

    async def test_generate_stores_the_answer_as_generated(
        self, chat: Conversation, stores: Stores, model: FakeOpenAI
    ) -> None:
        """The model's answer is stored (generated), not yet part of the chat's history."""
        turn = await submit(chat, "hello")
        reply = await chat.generate(turn)
        assert reply.text == "echo: hello" and reply.usage.model == "gpt-test"
        now = await stored(stores, turn)
        assert now.state is TurnState.GENERATED and now.answer == "echo: hello"
        assert await chat.controls.history(CHAT, 10) == []

    async def test_delivered_answer_joins_the_history(
        self, chat: Conversation, stores: Stores, model: FakeOpenAI
    ) -> None:
        """Once delivered the turn is answered, and the next request carries it as context."""
        reply = await answered(chat, "first")
        assert (await stored(stores, reply.turn)).state is TurnState.ANSWERED
        [shown] = await chat.controls.history(CHAT, 10)
        assert (shown.user_text, shown.answer) == ("first", "echo: first")
        await chat.generate(await submit(chat, "second"))
        assert contents(model)[-3:] == ["first", "echo: first", "second"]

    async def test_a_redelivered_message_is_ignored(
        self, chat: Conversation, logs: LogCapture
    ) -> None:
        """The same source key submitted twice is stored once; the repeat returns None."""
        first = await submit(chat, "hello", key="tg:1:99")
        again = await chat.submit(NewTurn(CHAT, "hello", source_key="tg:1:99"))
        assert again is None
        assert await chat.unfinished() == [first]
        [ignored] = logs.named("duplicate_message_ignored")
        assert ignored["source_key"] == "tg:1:99"

    async def test_a_failed_turn_stays_out_of_the_context(
        self, chat: Conversation, stores: Stores, model: FakeOpenAI, logs: LogCapture
    ) -> None:
        """A refused request fails the turn with its error type; the next request omits it."""
        model.script(Error(400, "refused"))
        turn = await submit(chat, "bad question")
        with pytest.raises(errors.ModelRejected):
            await chat.generate(turn)
        now = await stored(stores, turn)
        assert (now.state, now.error_type) == (TurnState.FAILED, "bad_request")
        [finished] = logs.named("reply_finished")
        assert finished["outcome"] == "failed" and finished["error_type"] == "bad_request"
        await chat.generate(await submit(chat, "good question"))
        assert "bad question" not in contents(model)

    async def test_an_empty_answer_fails_the_turn(
        self, chat: Conversation, stores: Stores, model: FakeOpenAI
    ) -> None:
        """A blank answer is not stored as an answer: the turn fails with empty_answer."""
        model.script(Scripted("   "))
        turn = await submit(chat, "hello")
        with pytest.raises(errors.EmptyAnswer):
            await chat.generate(turn)
        assert (await stored(stores, turn)).error_type == "empty_answer"

    async def test_a_context_too_long_is_trimmed_harder_once(
        self, chat: Conversation, model: FakeOpenAI, logs: LogCapture
    ) -> None:
        """The provider's context-length error: asked again once with a shorter history."""
        for n in range(4):
            await answered(chat, f"question {n}")
        model.script(Error(400, "maximum context length", code="context_length_exceeded"))
        reply = await chat.generate(await submit(chat, "last"))
        assert reply.text == "echo: last"
        assert len(model.requests[-1].messages) < len(model.requests[-2].messages)
        assert logs.named("context_trimmed_harder")


class TestRetry:
    async def test_nothing_to_retry(self, chat: Conversation) -> None:
        """/retry in a chat without an answer raises NothingToRetry (its own user message)."""
        with pytest.raises(errors.NothingToRetry):
            await chat.retry(CHAT)

    async def test_the_old_answer_is_replaced_once_the_new_is_delivered(
        self, chat: Conversation, model: FakeOpenAI
    ) -> None:
        """The retry asks the same question without the old answer; the old answer stays in
        the history until the new one is delivered, then only the new one is there."""
        await answered(chat, "question")
        turn = await chat.retry(CHAT, source_key="retry-1")
        assert turn is not None and turn.user_text == "question"
        model.script(Scripted("a better answer"))
        reply = await chat.generate(turn)
        assert "echo: question" not in contents(model)
        assert [t.answer for t in await chat.controls.history(CHAT, 10)] == ["echo: question"]
        await chat.delivered(reply)
        assert [t.answer for t in await chat.controls.history(CHAT, 10)] == ["a better answer"]

    async def test_a_failed_retry_loses_nothing(
        self, chat: Conversation, model: FakeOpenAI
    ) -> None:
        """A retry whose request fails leaves the old answer in the history."""
        await answered(chat, "question")
        turn = await chat.retry(CHAT)
        assert turn is not None
        model.script(Error(400, "refused"))
        with pytest.raises(errors.ModelRejected):
            await chat.generate(turn)
        assert [t.answer for t in await chat.controls.history(CHAT, 10)] == ["echo: question"]

    async def test_a_redelivered_retry_is_ignored(self, chat: Conversation) -> None:
        """A /retry command delivered twice (same source key) stores one retry."""
        await answered(chat, "question")
        assert await chat.retry(CHAT, source_key="retry-1") is not None
        assert await chat.retry(CHAT, source_key="retry-1") is None


class TestRecovery:
    async def test_a_fresh_pending_turn_is_answered(self, chat: Conversation) -> None:
        """A pending turn younger than PENDING_MAX_AGE_SECONDS is to be answered."""
        turn = await submit(chat, "hello")
        assert chat.recovery_action(turn) is Action.ANSWER and not chat.too_old(turn)

    async def test_an_old_pending_turn_expires(
        self, chat: Conversation, clock: FakeClock, stores: Stores
    ) -> None:
        """A pending turn older than PENDING_MAX_AGE_SECONDS expires instead."""
        turn = await submit(chat, "hello")
        clock.now += MAX_AGE + 1
        assert chat.recovery_action(turn) is Action.EXPIRE and chat.too_old(turn)
        assert chat.age(turn) == MAX_AGE + 1
        await chat.failed(turn, errors.Expired())
        assert (await stored(stores, turn)).error_type == "expired"

    async def test_a_generated_answer_is_delivered_however_old(
        self, chat: Conversation, clock: FakeClock, stores: Stores
    ) -> None:
        """A stored answer is delivered, even after the age limit, without asking again."""
        reply = await chat.generate(await submit(chat, "hello"))
        clock.now += MAX_AGE * 10
        assert chat.recovery_action(await stored(stores, reply.turn)) is Action.DELIVER
        await chat.delivered_late(reply.turn)
        now = await stored(stores, reply.turn)
        assert now.state is TurnState.ANSWERED
        assert chat.recovery_action(now) is Action.NONE

    async def test_an_answer_delivered_while_the_database_refused_is_not_sent_twice(
        self, chat: Conversation, stores: Stores, database: Database, logs: LogCapture
    ) -> None:
        """The user got the answer but its record was refused: recovery records it (RECORD),
        it does not deliver it again; once recorded there is nothing left to do."""
        reply = await chat.generate(await submit(chat, "hello"))
        await database.connection.execute("PRAGMA query_only = ON")
        await chat.delivered(reply)  # does not raise: the user has the answer
        assert logs.named("delivery_unrecorded")
        [left] = await chat.unfinished()
        assert left.state is TurnState.GENERATED
        assert chat.recovery_action(left) is Action.RECORD
        with pytest.raises(StorageError):
            await chat.ready_to_answer(left)
        await database.connection.execute("PRAGMA query_only = OFF")
        await chat.record_delivery(left)
        assert await chat.unfinished() == []
        assert chat.recovery_action(await stored(stores, left)) is Action.NONE

    async def test_an_undeliverable_answer_fails_the_turn(
        self, chat: Conversation, stores: Stores
    ) -> None:
        """An answer the channel refuses for good fails the turn; a settled turn stays as is."""
        reply = await chat.generate(await submit(chat, "hello"))
        await chat.undeliverable(reply.turn)
        assert (await stored(stores, reply.turn)).error_type == "undeliverable"
        done = await answered(chat, "again")
        await chat.undeliverable(done.turn)
        assert (await stored(stores, done.turn)).state is TurnState.ANSWERED
