"""The model client against the fake OpenAI server: answers, and each failure as our error type.

Every failure the SDK can raise reaches the engine as one of bot/engine/errors.py's types, with
its `user_message` and the number of requests made (`attempts`); passing failures are retried
(at most `max_retries` times), configuration errors are not, and a stream that already showed
text is never restarted.
"""

from __future__ import annotations

import pytest

from bot.engine import errors
from bot.engine.models.client import Completion, LLMClient, RetryPolicy
from tests.fakes.openai import CutStream, Error, FakeOpenAI, Hang, Reply, unused_port
from tests.support.engine import FAST_RETRY, MakeClient

MESSAGES = [{"role": "user", "content": "question"}]
NOW = {"retry-after": "0"}


async def ask(llm: LLMClient, model: str = "gpt-test") -> Completion:
    return await llm.complete(MESSAGES, model=model, max_tokens=50, temperature=0)


async def failure(llm: LLMClient, model: str = "gpt-test") -> errors.ModelError:
    with pytest.raises(errors.ModelError) as caught:
        await ask(llm, model)
    return caught.value


class TestAnswers:
    async def test_streams_the_answer_with_usage(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """An answer arrives piece by piece through on_delta, whole in the completion."""
        model.script(Reply("one two three four", chunks=2))
        pieces: list[str] = []

        async def on_delta(delta: str) -> None:
            pieces.append(delta)

        llm = make_client()
        done = await llm.complete(
            MESSAGES, model="gpt-test", max_tokens=50, temperature=0, on_delta=on_delta
        )
        assert done.text == "one two three four" and "".join(pieces) == done.text
        assert len(pieces) == 2
        assert done.attempts == 1 and done.model == "gpt-test"
        assert done.usage is not None and done.usage.completion_tokens > 0
        assert done.ttft_s is not None and done.latency_s >= done.ttft_s

    async def test_an_empty_answer_is_passed_on(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """The client returns an empty answer as it is; the conversation refuses it."""
        model.script(Reply(""))
        assert (await ask(make_client())).text == ""


# (what the fake server does, our error type, requests made); the client retries twice.
REFUSED = [
    pytest.param([Error(403, "not allowed for this project")], errors.ModelAuthError, 1, id="403"),
    pytest.param([Error(400, "invalid 'temperature'")], errors.ModelRejected, 1, id="400"),
    pytest.param([Error(429, "slow down", headers=NOW)] * 3, errors.ModelBusy, 3, id="429"),
    pytest.param([Error(503, "overloaded")] * 3, errors.ModelUnavailable, 3, id="503"),
    pytest.param([Error(500, "oops"), Error(502, "bad gateway")] * 2, errors.ModelUnavailable, 3),
]


class TestFailures:
    @pytest.mark.parametrize(("script", "kind", "requests"), REFUSED)
    async def test_each_status_becomes_our_error(
        self,
        model: FakeOpenAI,
        make_client: MakeClient,
        script: list[Error],
        kind: type[errors.ModelError],
        requests: int,
    ) -> None:
        """Each HTTP failure is our error type, with its user message and the requests made."""
        model.script(*script)
        error = await failure(make_client())
        assert type(error) is kind
        assert error.user_message == kind.user_message
        assert error.attempts == requests == len(model.requests)

    async def test_wrong_key(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """A key the provider refuses (401) is an auth error, asked once (retrying cannot help)."""
        error = await failure(make_client(api_key="sk-wrong"))
        assert type(error) is errors.ModelAuthError
        assert "API key" in error.user_message
        assert error.attempts == 1 == len(model.requests)

    async def test_unknown_model(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """A model name the provider does not know (404) is ModelNotFound, asked once."""
        model.known_models = {"gpt-test"}
        error = await failure(make_client(), model="gpt-nope")
        assert type(error) is errors.ModelNotFound
        assert "/model" in error.user_message
        assert error.attempts == 1

    async def test_context_too_long(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """The provider's context-length 400 is ContextTooLong (the engine trims and retries)."""
        model.max_context_tokens = 1
        error = await failure(make_client())
        assert type(error) is errors.ContextTooLong
        assert "/clear" in error.user_message
        assert error.attempts == 1

    async def test_timeout(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """A provider that does not answer in time is ModelTimeout after the retries."""
        model.script(Hang(3), Hang(3))
        llm = make_client(timeout=0.2, retry=RetryPolicy(max_retries=1, initial_wait=0.01))
        error = await failure(llm)
        assert type(error) is errors.ModelTimeout
        assert error.attempts == 2 == len(model.requests)

    async def test_connection_refused(self, make_client: MakeClient) -> None:
        """A provider nothing listens for is ModelUnavailable after the retries."""
        llm = make_client(base_url=f"http://127.0.0.1:{unused_port()}/v1")
        error = await failure(llm)
        assert type(error) is errors.ModelUnavailable
        assert error.attempts == FAST_RETRY.max_retries + 1

    async def test_stream_cut_after_text(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """A stream cut after text was shown is StreamInterrupted with that text, not retried."""
        model.script(CutStream("alpha beta gamma delta", after_chunks=1, chunks=2))
        error = await failure(make_client())
        assert isinstance(error, errors.StreamInterrupted)
        assert error.partial == "alpha beta "  # the first of two chunks
        assert error.attempts == 1 == len(model.requests)


class TestRetries:
    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    async def test_passing_failure_then_answer(
        self, model: FakeOpenAI, make_client: MakeClient, status: int
    ) -> None:
        """A 429 or 5xx followed by an answer: the answer, after two requests."""
        model.script(Error(status, "try later", headers=NOW))
        done = await ask(make_client())
        assert done.text == "echo: question"
        assert done.attempts == 2 == len(model.requests)

    async def test_retry_after_is_waited(self, model: FakeOpenAI, make_client: MakeClient) -> None:
        """A persistent 429 waits what Retry-After asks between attempts, then is ModelBusy."""
        model.script(*[Error(429, "slow down", headers={"retry-after": "0.3"})] * 2)
        llm = make_client(retry=RetryPolicy(max_retries=1, initial_wait=0.01, max_wait=0.01))
        error = await failure(llm)
        assert type(error) is errors.ModelBusy and error.attempts == 2
        first, second = model.requests
        assert second.at - first.at >= 0.28

    async def test_cut_before_any_text_is_retried(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """A stream dropped before any text is a passing failure: asked again, answered."""
        model.script(CutStream("never shown", after_chunks=0))
        done = await ask(make_client())
        assert done.text == "echo: question" and done.attempts == 2

    async def test_retries_stop_at_the_time_limit(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """No retry starts once the policy's total time would be passed."""
        model.script(*[Error(429, "slow down", headers={"retry-after": "1"})] * 5)
        llm = make_client(retry=RetryPolicy(max_retries=5, max_seconds=0.5))
        error = await failure(llm)
        assert type(error) is errors.ModelBusy
        assert error.attempts == 1 == len(model.requests)
