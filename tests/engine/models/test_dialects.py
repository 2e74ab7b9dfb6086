"""Provider dialects end to end: the real client, shaped by a provider's options, against a fake
server that answers like that provider (tests/fakes/openai_dialects.py).

Each difference is shown twice where it can fail: the option that handles it gets an answer,
and without the option the same fake refuses (so the fake really reproduces the difference).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config.providers import PRESETS, Dialect
from bot.engine import errors
from bot.engine.models.client import Completion, LLMClient
from tests.fakes.openai import Error, FakeOpenAI
from tests.fakes.openai_dialects import DIALECTS, FakeDialect
from tests.support.engine import FAST_RETRY

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "question"}]


def client(
    fake: FakeOpenAI, dialect: Dialect, reasoning: frozenset[str] = frozenset()
) -> LLMClient:
    return LLMClient(
        api_key=fake.api_key,
        base_url=fake.base_url,
        timeout=5,
        retry=FAST_RETRY,
        dialect=dialect,
        reasoning=reasoning,
    )


async def ask(llm: LLMClient, model: str = "gpt-test") -> Completion:
    try:
        return await llm.complete(MESSAGES, model=model, max_tokens=50, temperature=0.7)
    finally:
        await llm.close()


async def refused(llm: LLMClient, model: str = "gpt-test") -> errors.ModelError:
    with pytest.raises(errors.ModelError) as caught:
        await ask(llm, model)
    return caught.value


class TestRequestShape:
    async def test_max_completion_tokens_for_openai_reasoning_models(
        self, model: FakeOpenAI
    ) -> None:
        """The openai preset sends max_completion_tokens and no temperature to a reasoning
        model; max_tokens and a temperature are refused there."""
        model.dialect = DIALECTS["openai-reasoning"]
        done = await ask(client(model, PRESETS["openai"], frozenset({"o3-mini"})), "o3-mini")
        assert done.text == "echo: question"
        body = model.requests[-1].body
        assert body["max_completion_tokens"] == 50
        assert "max_tokens" not in body and "temperature" not in body
        assert isinstance(await refused(client(model, Dialect()), "o3-mini"), errors.ModelRejected)

    async def test_temperature_kept_for_other_models(self, model: FakeOpenAI) -> None:
        """not_for_reasoning drops the temperature only for the models marked reasoning."""
        await ask(client(model, PRESETS["openai"], frozenset({"o3-mini"})), "gpt-4o")
        assert model.requests[-1].body["temperature"] == 0.7

    async def test_never_sends_a_temperature(self, model: FakeOpenAI) -> None:
        """temperature = "never": no temperature at all."""
        await ask(client(model, Dialect(temperature="never")))
        assert "temperature" not in model.requests[-1].body

    async def test_developer_role(self, model: FakeOpenAI) -> None:
        """system_role = "developer" sends the system prompt as a developer message; a server
        that does not know the role refuses it, and the default role is accepted there."""
        await ask(client(model, Dialect(system_role="developer")))
        assert [m["role"] for m in model.requests[-1].messages] == ["developer", "user"]
        model.dialect = DIALECTS["gemini"]
        assert isinstance(
            await refused(client(model, Dialect(system_role="developer"))), errors.ModelRejected
        )
        assert (await ask(client(model, PRESETS["gemini"]))).text == "echo: question"

    async def test_stream_options_off(self, model: FakeOpenAI) -> None:
        """stream_options = false never sends it: one request to a server that refuses it."""
        model.stream_options_mode = "reject"
        done = await ask(client(model, Dialect(stream_options=False)))
        assert done.text == "echo: question" and len(model.requests) == 1
        assert "stream_options" not in model.requests[0].body

    async def test_router_ids_with_slashes_and_variants(self, model: FakeOpenAI) -> None:
        """OpenRouter's ids (vendor/model:free) go out exactly as written."""
        model.dialect = DIALECTS["openrouter"]
        await ask(client(model, PRESETS["openrouter"]), "meta-llama/llama-3.3-70b-instruct:free")
        assert model.requests[-1].model == "meta-llama/llama-3.3-70b-instruct:free"


class TestUsage:
    async def test_usage_in_the_last_chunk_unasked(self, model: FakeOpenAI) -> None:
        """A server that reports usage without being asked (llama.cpp): it is used."""
        model.dialect = replace(DIALECTS["llamacpp"], reasoning=None)
        done = await ask(client(model, Dialect(stream_options=False)))
        assert done.usage is not None and done.usage.completion_tokens > 0

    async def test_usage_never_reported(self, model: FakeOpenAI) -> None:
        """A server that never reports usage: the answer arrives, without usage."""
        model.dialect = DIALECTS["no-usage"]
        done = await ask(client(model, Dialect()))
        assert done.text == "echo: question" and done.usage is None


class TestErrorShapes:
    @pytest.mark.parametrize("shape", ["openai", "list", "flat", "anthropic"])
    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (401, errors.ModelAuthError),
            (404, errors.ModelNotFound),
            (429, errors.ModelBusy),
            (503, errors.ModelUnavailable),
            (400, errors.ModelRejected),
        ],
    )
    async def test_each_shape_means_the_same(
        self, model: FakeOpenAI, shape: str, status: int, expected: type[errors.ModelError]
    ) -> None:
        """Errors in any provider's body shape become the same error of ours."""
        model.dialect = FakeDialect(error_shape=shape)  # type: ignore[arg-type]
        model.script(*[Error(status, "no", headers={"retry-after": "0"})] * 3)
        assert type(await refused(client(model, Dialect()))) is expected

    @pytest.mark.parametrize("shape", ["openai", "list", "flat", "anthropic"])
    async def test_context_too_long_in_every_shape(self, model: FakeOpenAI, shape: str) -> None:
        """A context-length refusal is recognised whatever the body's shape."""
        model.dialect = FakeDialect(error_shape=shape)  # type: ignore[arg-type]
        model.max_context_tokens = 1
        assert isinstance(await refused(client(model, Dialect())), errors.ContextTooLong)
