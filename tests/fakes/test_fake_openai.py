"""FakeOpenAI driven by the official openai SDK."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionStreamOptionsParam

from tests.fakes.openai import Block, CutStream, Error, FakeOpenAI, Hang, Reply, unused_port

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there my friend"}]


async def _stream_text(
    client: openai.AsyncOpenAI, include_usage: bool | None = None
) -> tuple[list[str], CompletionUsage | None]:
    options: ChatCompletionStreamOptionsParam | openai.Omit = openai.omit
    if include_usage is not None:
        options = {"include_usage": include_usage}
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options=options
    )
    pieces: list[str] = []
    usage: CompletionUsage | None = None
    async for chunk in stream:
        pieces.extend(c.delta.content or "" for c in chunk.choices)
        usage = chunk.usage or usage
    return pieces, usage


class TestCompletions:
    async def test_stream_with_usage(self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
        """Streaming echoes the last user message in chunks, then a usage-only chunk."""
        pieces, usage = await _stream_text(oai, include_usage=True)
        assert "".join(pieces) == "echo: hello there my friend"
        assert len([p for p in pieces if p]) > 1
        assert usage is not None and usage.completion_tokens == 27 // 4 + 1
        assert fake_llm.last_usage == usage.model_dump(include={"prompt_tokens",
                                      "completion_tokens", "total_tokens"})  # fmt: skip
        request = fake_llm.requests[-1]
        assert (request.model, request.stream, request.messages) == ("gpt-4o-mini", True, USER)

    async def test_non_streaming(self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
        """A plain request gets one chat.completion with usage; reply_with changes the text."""
        fake_llm.reply_with(lambda messages: f"{len(messages)} messages")
        answer = await oai.chat.completions.create(model="m", messages=USER)
        assert answer.choices[0].message.content == "1 messages"
        assert answer.usage is not None and answer.usage.prompt_tokens == 22 // 4 + 1

    async def test_scripted_reply_chunks_and_timing(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """Reply(chunks=, ttft=) is honoured, then the default answer returns."""
        fake_llm.script(Reply("abcdef", chunks=3, ttft=0.1))
        started = time.monotonic()
        pieces, _ = await _stream_text(oai)
        assert pieces == ["", "ab", "cd", "ef", ""] and time.monotonic() - started >= 0.1
        assert "".join((await _stream_text(oai))[0]).startswith("echo:")

    async def test_reply_pauses_mid_stream(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """Reply(hold=event) sends hold_after chunks, then waits for the event to go on."""
        resume = asyncio.Event()
        fake_llm.script(Reply("abcdef", chunks=3, hold=resume, hold_after=2))
        stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)
        pieces: list[str] = []
        async for chunk in stream:
            pieces.extend(c.delta.content or "" for c in chunk.choices)
            assert "ef" not in pieces or resume.is_set()
            if pieces == ["", "ab", "cd"]:
                resume.set()
        assert "".join(pieces) == "abcdef"

    async def test_stream_options_modes(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """'ignore' sends no usage chunk; 'reject' answers 400."""
        fake_llm.stream_options_mode = "ignore"
        assert (await _stream_text(oai, include_usage=True))[1] is None
        fake_llm.stream_options_mode = "reject"
        with pytest.raises(openai.BadRequestError, match="stream_options"):
            await _stream_text(oai, include_usage=True)


class TestErrors:
    async def test_wrong_key_is_401(self, fake_llm: FakeOpenAI) -> None:
        """A bad API key gets invalid_api_key."""
        async with openai.AsyncOpenAI(
            base_url=fake_llm.base_url, api_key="sk-bad", max_retries=0
        ) as c:
            with pytest.raises(openai.AuthenticationError) as caught:
                await c.chat.completions.create(model="m", messages=USER)
        assert caught.value.code == "invalid_api_key"

    async def test_unknown_model_is_404(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """With known_models set, another model gets model_not_found."""
        fake_llm.known_models = {"gpt-4o-mini"}
        with pytest.raises(openai.NotFoundError) as caught:
            await oai.chat.completions.create(model="gpt-x", messages=USER)
        assert caught.value.code == "model_not_found"
        assert [m.id for m in (await oai.models.list()).data] == ["gpt-4o-mini"]

    async def test_context_length_exceeded(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """A prompt over max_context_tokens gets context_length_exceeded."""
        fake_llm.max_context_tokens = 3
        with pytest.raises(openai.BadRequestError) as caught:
            await oai.chat.completions.create(model="m", messages=USER)
        assert caught.value.code == "context_length_exceeded"

    async def test_scripted_rate_limit_has_retry_after(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """Error(429, headers=) reaches the client with its retry-after header."""
        fake_llm.script(Error(429, "Rate limit reached", "rate_limit_exceeded",
                              headers={"retry-after": "1"}))  # fmt: skip
        with pytest.raises(openai.RateLimitError) as caught:
            await oai.chat.completions.create(model="m", messages=USER)
        assert caught.value.response.headers["retry-after"] == "1"
        assert fake_llm.script_left == 0

    async def test_cut_stream_fails_on_the_client(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """CutStream delivers some chunks, then the SDK raises a connection error."""
        fake_llm.script(CutStream("one two three four five six", after_chunks=1))
        received: list[str] = []
        stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(openai.APIConnectionError):
            async for chunk in stream:
                received.extend(c.delta.content or "" for c in chunk.choices)
        assert "".join(received) == "one two three "

    async def test_hang_triggers_a_client_timeout(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """Hang outlasts the client's timeout; stopping the fake does not wait for it."""
        fake_llm.script(Hang(30))
        with pytest.raises(openai.APITimeoutError):
            await oai.chat.completions.create(model="m", messages=USER, timeout=0.2)

    async def test_block_waits_for_the_event(
        self, fake_llm: FakeOpenAI, oai: openai.AsyncOpenAI
    ) -> None:
        """Block answers only after its event is set."""
        release = asyncio.Event()
        fake_llm.script(Block(release, then=Reply("late")))
        task = asyncio.create_task(oai.chat.completions.create(model="m", messages=USER))
        assert len(await fake_llm.wait_for_requests(1)) == 1
        assert not task.done()
        release.set()
        assert (await task).choices[0].message.content == "late"

    async def test_unused_port_refuses_connections(self) -> None:
        """Nothing listens on unused_port(), so the SDK reports a connection error."""
        url = f"http://127.0.0.1:{unused_port()}/v1"
        async with openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
            with pytest.raises(openai.APIConnectionError):
                await client.models.list()
