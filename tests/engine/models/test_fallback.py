"""The fallback model: asked when the primary is unavailable, never to hide a configuration error.

Two fake OpenAI servers stand for the primary provider and the fallback's own endpoint
(FALLBACK_BASE_URL); both are reached through real clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.engine import errors
from bot.engine.models.client import Completion, RetryPolicy
from bot.engine.models.fallback import FallbackModel
from tests.fakes.openai import CutStream, Error, FakeOpenAI, Hang
from tests.support.engine import MakeClient
from tests.support.running import LogCapture

MESSAGES = [{"role": "user", "content": "question"}]
NOW = {"retry-after": "0"}
ONE_RETRY = RetryPolicy(max_retries=1, max_seconds=5, initial_wait=0.01, max_wait=0.01)


@pytest.fixture
async def backup() -> AsyncIterator[FakeOpenAI]:
    """The fallback's own provider."""
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def pair(make_client: MakeClient, backup: FakeOpenAI) -> FallbackModel:
    """Primary on `model`, fallback "gpt-backup" on `backup`; each client retries once."""
    primary = make_client(retry=ONE_RETRY, timeout=0.3)
    fallback = make_client(api_key=backup.api_key, base_url=backup.base_url, retry=ONE_RETRY)
    return FallbackModel(primary, fallback, "gpt-backup")


async def ask(pair: FallbackModel) -> Completion:
    return await pair.complete(MESSAGES, model="gpt-test", max_tokens=50, temperature=0)


PASSING = [
    pytest.param([Error(503, "overloaded")] * 2, "unavailable", id="5xx"),
    pytest.param([Hang(3)] * 2, "timeout", id="timeout"),
    pytest.param([Error(429, "slow down", headers=NOW)] * 2, "rate_limited", id="rate-limit"),
]


class TestFallbackUsed:
    @pytest.mark.parametrize(("script", "error_type"), PASSING)
    async def test_after_a_passing_failure_of_the_primary(
        self,
        pair: FallbackModel,
        model: FakeOpenAI,
        backup: FakeOpenAI,
        logs: LogCapture,
        script: list[Error | Hang],
        error_type: str,
    ) -> None:
        """After the primary's retries, the fallback answers; the answering model is reported
        and the attempts of both are counted."""
        model.script(*script)
        done = await ask(pair)
        assert done.text == "echo: question"
        assert done.model == "gpt-backup"
        assert [r.model for r in backup.requests] == ["gpt-backup"]
        assert done.attempts == 3  # two to the primary, one to the fallback
        [used] = logs.named("fallback_used")
        assert used["error_type"] == error_type and used["primary_attempts"] == 2
        assert (used["model"], used["fallback_model"]) == ("gpt-test", "gpt-backup")

    async def test_the_primary_answering_needs_no_fallback(
        self, pair: FallbackModel, backup: FakeOpenAI, logs: LogCapture
    ) -> None:
        """A primary that answers is the answering model; the fallback is never asked."""
        done = await ask(pair)
        assert done.model == "gpt-test" and done.attempts == 1
        assert backup.requests == [] and logs.named("fallback_used") == []

    async def test_both_failing_reports_the_fallbacks_error(
        self, pair: FallbackModel, model: FakeOpenAI, backup: FakeOpenAI
    ) -> None:
        """When the fallback fails too, its error is raised with every attempt counted."""
        model.script(*[Error(503, "overloaded")] * 2)
        backup.script(*[Error(429, "slow down", headers=NOW)] * 2)
        with pytest.raises(errors.ModelBusy) as caught:
            await ask(pair)
        assert caught.value.attempts == 4


REFUSED = [
    pytest.param(Error(401, "Incorrect API key", code="invalid_api_key"), errors.ModelAuthError),
    pytest.param(Error(403, "no access"), errors.ModelAuthError, id="403"),
    pytest.param(Error(404, "no such model", code="model_not_found"), errors.ModelNotFound),
]


class TestFallbackNotUsed:
    @pytest.mark.parametrize(("error", "kind"), REFUSED)
    async def test_on_a_configuration_error(
        self,
        pair: FallbackModel,
        model: FakeOpenAI,
        backup: FakeOpenAI,
        logs: LogCapture,
        error: Error,
        kind: type[errors.ModelError],
    ) -> None:
        """A wrong key or model name is not hidden behind the fallback: it is raised and
        logged as an error for the operator."""
        model.script(error)
        with pytest.raises(kind):
            await ask(pair)
        assert backup.requests == []
        [config] = logs.named("model_config_error")
        assert config["level"] == "error" and config["model"] == "gpt-test"

    async def test_on_a_rejected_request(
        self, pair: FallbackModel, model: FakeOpenAI, backup: FakeOpenAI
    ) -> None:
        """A request the primary refuses as it is (400) would be refused anywhere: raised."""
        model.script(Error(400, "invalid"))
        with pytest.raises(errors.ModelRejected):
            await ask(pair)
        assert backup.requests == []

    async def test_after_text_was_shown(
        self, pair: FallbackModel, model: FakeOpenAI, backup: FakeOpenAI
    ) -> None:
        """A stream cut after text was shown is not restarted on the fallback."""
        model.script(CutStream("alpha beta gamma delta", after_chunks=1, chunks=2))
        with pytest.raises(errors.StreamInterrupted):
            await ask(pair)
        assert backup.requests == []
