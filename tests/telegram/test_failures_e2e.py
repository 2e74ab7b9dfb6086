"""End to end: each way the model can fail — what the user sees, what is stored, what is logged."""

from __future__ import annotations

import pytest

from bot.engine import errors
from tests.fakes.openai import CutStream, Error, Hang, Reply, unused_port
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot


async def ask(bot: RunningBot, text: str = "question", count: int = 1) -> str:
    bot.telegram.send_private_text(PRIVATE, text)
    return await answer_in(bot, PRIVATE, count, timeout=20)


async def failure(logs: LogCapture) -> dict[str, object]:
    [event] = await logs.wait_for("reply_finished")
    assert event["outcome"] == "failed"
    return event


class TestPassingFailuresAreRetried:
    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    async def test_then_success(self, bot: RunningBot, logs: LogCapture, status: int) -> None:
        """A 429 or 5xx followed by success is retried: the user just gets the answer."""
        bot.model.script(Error(status, "try later", headers={"retry-after": "0"}))
        assert await ask(bot) == "echo: question"
        assert len(bot.model.requests) == 2
        [retry] = logs.named("model_retry")
        assert retry["attempt"] == 1
        [done] = await logs.wait_for("reply_finished")
        assert done["outcome"] == "answered" and done["attempts"] == 2
        assert stored_turns(bot) == [("question", "answered", None)]

    async def test_retry_after_is_honoured(self, bot: RunningBot, logs: LogCapture) -> None:
        """The wait before the retry is at least what Retry-After asked for."""
        bot.model.script(Error(429, "slow down", headers={"retry-after": "1"}))
        assert await ask(bot) == "echo: question"
        [retry] = logs.named("model_retry")
        assert retry["wait_s"] >= 1.0
        gap = bot.model.requests[1].at - bot.model.requests[0].at
        assert gap >= 0.95

    async def test_persistent_rate_limit(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 429 that never clears ends, bounded, with the "busy" message and a failed turn."""
        await bot.restart(OPENAI_MAX_RETRIES="2")
        bot.model.script(*[Error(429, "rate limited", headers={"retry-after": "0"})] * 3)
        assert await ask(bot) == errors.ModelBusy.user_message
        assert len(bot.model.requests) == 3
        event = await failure(logs)
        assert event["error_type"] == "rate_limited" and event["attempts"] == 3
        assert stored_turns(bot) == [("question", "failed", "rate_limited")]

    async def test_persistent_server_error(self, bot: RunningBot, logs: LogCapture) -> None:
        """Repeated 5xx ends with the "can't reach" message."""
        await bot.restart(OPENAI_MAX_RETRIES="1")
        bot.model.script(Error(503, "overloaded"), Error(503, "overloaded"))
        assert await ask(bot) == errors.ModelUnavailable.user_message
        assert (await failure(logs))["error_type"] == "unavailable"
        assert stored_turns(bot) == [("question", "failed", "unavailable")]

    async def test_timeout(self, bot: RunningBot, logs: LogCapture) -> None:
        """A model that never answers in time ends with the "took too long" message."""
        await bot.restart(OPENAI_TIMEOUT="0.3", OPENAI_MAX_RETRIES="1")
        bot.model.script(Hang(3), Hang(3))
        assert await ask(bot) == errors.ModelTimeout.user_message
        assert len(bot.model.requests) == 2
        assert (await failure(logs))["error_type"] == "timeout"
        assert stored_turns(bot) == [("question", "failed", "timeout")]

    async def test_connection_refused(self, bot: RunningBot, logs: LogCapture) -> None:
        """A provider that cannot be reached ends with the "can't reach" message."""
        await bot.restart(
            OPENAI_BASE_URL=f"http://127.0.0.1:{unused_port()}/v1", OPENAI_MAX_RETRIES="1"
        )
        assert await ask(bot) == errors.ModelUnavailable.user_message
        assert (await failure(logs))["error_type"] == "unavailable"
        assert stored_turns(bot) == [("question", "failed", "unavailable")]


class TestPermanentFailuresAreNot:
    @pytest.mark.parametrize(
        ("status", "code", "error_type", "user_message"),
        [
            (401, "invalid_api_key", "auth", errors.ModelAuthError.user_message),
            (403, "forbidden", "auth", errors.ModelAuthError.user_message),
            (404, "model_not_found", "model_not_found", errors.ModelNotFound.user_message),
            (400, "invalid_value", "bad_request", errors.ModelRejected.user_message),
        ],
    )
    async def test_one_request_one_message(
        self,
        bot: RunningBot,
        logs: LogCapture,
        status: int,
        code: str,
        error_type: str,
        user_message: str,
    ) -> None:
        """401, 403, 404 and other 400s are not retried; the user gets one short message."""
        bot.model.script(Error(status, "no", code=code))
        assert await ask(bot) == user_message
        assert len(bot.model.requests) == 1
        assert logs.named("model_retry") == []
        assert (await failure(logs))["error_type"] == error_type
        assert stored_turns(bot) == [("question", "failed", error_type)]

    async def test_failed_turn_stays_out_of_the_context(self, bot: RunningBot) -> None:
        """After a failure, the next request does not carry the failed question."""
        bot.model.script(Error(400, "no", code="invalid_value"))
        await ask(bot, "bad one", 1)
        await ask(bot, "good one", 2)
        contents = [m["content"] for m in bot.model.requests[-1].messages[1:]]
        assert contents == ["good one"]


class TestContextLength:
    async def test_trims_harder_and_retries_once(self, bot: RunningBot, logs: LogCapture) -> None:
        """A context-length error is answered by a second, much shorter request."""
        for n in range(6):
            await ask(bot, f"turn {n}", n + 1)
        bot.model.script(
            Error(400, "maximum context length exceeded", code="context_length_exceeded")
        )
        assert await ask(bot, "last", 7) == "echo: last"
        long_, short = bot.model.requests[-2], bot.model.requests[-1]
        assert len(short.messages) < len(long_.messages)
        assert short.messages[-1]["content"] == "last"
        assert logs.named("context_trimmed_harder")

    async def test_still_too_long_asks_for_clear(self, bot: RunningBot, logs: LogCapture) -> None:
        """If even the trimmed request is too long, the user is asked to /clear."""
        error = Error(
            400, "This model's maximum context length is 10 tokens", code="context_length_exceeded"
        )
        bot.model.script(error, error)
        text = await ask(bot)
        assert text == errors.ContextTooLong.user_message and "/clear" in text
        assert len(bot.model.requests) == 2
        assert (await failure(logs))["error_type"] == "context_length"

    async def test_llama_cpp_style_context_error(self, bot: RunningBot) -> None:
        """llama.cpp's exceed_context_size_error is recognised as a context-length error."""
        bot.model.script(
            Error(
                400,
                "request (2031 tokens) exceeds the available context size (512 tokens)",
                type="exceed_context_size_error",
            ),
        )
        assert await ask(bot) == "echo: question"
        assert len(bot.model.requests) == 2


class TestProviderQuirks:
    async def test_usage_missing_is_estimated(self, bot: RunningBot, logs: LogCapture) -> None:
        """A provider that ignores stream_options still works; tokens are estimated."""
        bot.model.stream_options_mode = "ignore"
        assert await ask(bot) == "echo: question"
        [done] = await logs.wait_for("reply_finished")
        assert done["usage_estimated"] is True and done["completion_tokens"] > 0

    async def test_stream_options_rejected(self, bot: RunningBot, logs: LogCapture) -> None:
        """A provider that rejects stream_options is asked again without it, and after."""
        bot.model.stream_options_mode = "reject"
        assert await ask(bot, "one", 1) == "echo: one"
        assert await ask(bot, "two", 2) == "echo: two"
        bodies = [r.body for r in bot.model.requests]
        assert "stream_options" in bodies[0]
        assert all("stream_options" not in b for b in bodies[1:])
        assert len(bodies) == 3

    async def test_stream_cut_midway(self, bot: RunningBot, logs: LogCapture) -> None:
        """An answer that breaks off mid-way gets the "cut off" message; nothing half-stored."""
        bot.model.script(CutStream("this answer will be cut somewhere", after_chunks=2))
        assert await ask(bot) == errors.StreamInterrupted.user_message
        assert (await failure(logs))["error_type"] == "stream_interrupted"
        assert stored_turns(bot) == [("question", "failed", "stream_interrupted")]

    async def test_chunks_without_text_are_skipped(self, bot: RunningBot, logs: LogCapture) -> None:
        """Keep-alive comments and chunks with null choices, delta or content change nothing."""
        bot.model.script(Reply("one two three four five six", chunks=3, odd_chunks=True))
        assert await ask(bot) == "one two three four five six"
        [done] = await logs.wait_for("reply_finished")
        assert done["usage_estimated"] is False
        assert stored_turns(bot) == [("question", "answered", None)]

    async def test_empty_answer(self, bot: RunningBot, logs: LogCapture) -> None:
        """A model that answers nothing gets a short message, not an empty Telegram message."""
        bot.model.script(Reply(""))
        assert await ask(bot) == errors.EmptyAnswer.user_message
        assert (await failure(logs))["error_type"] == "empty_answer"

    async def test_app_headers_sent_when_set(self, bot: RunningBot) -> None:
        """APP_URL and APP_NAME go out as HTTP-Referer and X-Title (as OpenRouter asks)."""
        await bot.restart(APP_URL="https://example.org/bot", APP_NAME="Test Bot")
        await ask(bot)
        headers = {k.lower(): v for k, v in bot.model.requests[-1].headers.items()}
        assert headers["http-referer"] == "https://example.org/bot"
        assert headers["x-title"] == "Test Bot"
