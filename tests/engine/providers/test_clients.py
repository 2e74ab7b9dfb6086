"""One client per provider: its headers, its concurrency cap (first come, first served), and
the router that sends each model to its provider."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from pydantic import SecretStr

from bot.config import ModelSettings
from bot.config.providers import PRESETS, Catalogue, CatalogueModel, Provider
from bot.engine import errors
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.providers.clients import open_model, provider_client
from tests.fakes.openai import Block, Error, FakeOpenAI

MESSAGES = [{"role": "user", "content": "question"}]


def provider(fake: FakeOpenAI, name: str, *models: str, cap: int | None = None) -> Provider:
    return Provider(
        name=name,
        base_url=fake.base_url,
        api_key=SecretStr(fake.api_key),
        models=tuple(CatalogueModel(f"{name}-{m}", m) for m in models),
        max_retries=0,
        max_concurrency=cap,
        dialect=PRESETS["openrouter"],
    )


@pytest.fixture
def settings(clean_env: pytest.MonkeyPatch) -> ModelSettings:
    return ModelSettings(app_url="https://bot.example.org", app_name="Test bot")


class TestProviderClient:
    async def test_attribution_headers_and_own_headers(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """An attribution dialect sends APP_URL / APP_NAME; the provider's headers go too."""
        entry = replace(provider(model, "router", "m"), headers=(("X-Extra", "1"),))
        llm = provider_client(entry, settings, capabilities=CapabilityMap())
        await llm.complete(MESSAGES, model="m", max_tokens=5, temperature=0)
        await llm.close()
        headers = {k.lower(): v for k, v in model.requests[-1].headers.items()}
        assert headers["http-referer"] == "https://bot.example.org"
        assert (headers["x-title"], headers["x-extra"]) == ("Test bot", "1")

    async def test_cap_serves_in_arrival_order(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """Beyond the cap, requests wait and are let through first come, first served."""
        gate = asyncio.Event()
        model.script(Block(gate), Block(gate))
        llm = provider_client(
            provider(model, "p", "m", cap=2), settings, capabilities=CapabilityMap()
        )

        async def one(n: int) -> None:
            await llm.complete([{"role": "user", "content": str(n)}], model="m", max_tokens=5,
                               temperature=0)  # fmt: skip

        first = [asyncio.create_task(one(n)) for n in range(2)]
        await model.wait_for_requests(2)
        waiting = [asyncio.create_task(one(n)) for n in range(2, 6)]  # they queue in this order
        await asyncio.sleep(0.05)  # (only a bug could make a request arrive meanwhile)
        assert len(model.requests) == 2  # the rest wait at the bot, not at the server
        gate.set()
        await asyncio.gather(*first, *waiting)
        await llm.close()
        order = [r.messages[0]["content"] for r in model.requests]
        assert sorted(order[:2]) == ["0", "1"] and order[2:] == ["2", "3", "4", "5"]


class TestRouter:
    async def test_each_name_to_its_provider_under_its_id(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """A catalogue name is asked at its provider under its id; the answer keeps the name."""
        async with FakeOpenAI(api_key="sk-second") as second:
            catalogue = Catalogue(
                (provider(model, "one", "m"), provider(second, "two", "m")), "one-m"
            )
            llm = open_model(catalogue, settings, capabilities=CapabilityMap())
            done = await llm.complete(MESSAGES, model="two-m", max_tokens=5, temperature=0)
            await llm.close()
            await llm.close()  # closing twice is harmless
        assert done.model == "two-m" and second.requests[-1].model == "m"
        assert model.requests == []

    async def test_unknown_name_goes_to_the_first_provider(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """A model the catalogue does not name (a persona's, a summary's) goes to the first."""
        catalogue = Catalogue((provider(model, "one", "m"),), "one-m")
        llm = open_model(catalogue, settings, capabilities=CapabilityMap())
        await llm.complete(MESSAGES, model="elsewhere", max_tokens=5, temperature=0)
        await llm.close()
        assert model.requests[-1].model == "elsewhere"

    async def test_fallback_chain_across_providers(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """FALLBACK_MODELS: each in turn, on its own provider, until one answers."""
        async with FakeOpenAI(api_key="sk-second") as second:
            catalogue = Catalogue(
                (provider(model, "one", "a", "b"), provider(second, "two", "c")),
                "one-a",
                ("one-b", "two-c"),
            )
            model.script(Error(500, "down"), Error(503, "down"))
            llm = open_model(catalogue, settings, capabilities=CapabilityMap())
            done = await llm.complete(MESSAGES, model="one-a", max_tokens=5, temperature=0)
            await llm.close()
        assert [r.model for r in model.requests] == ["a", "b"]
        assert done.model == "two-c" and done.attempts == 3

    async def test_whole_chain_down_is_one_error(
        self, model: FakeOpenAI, settings: ModelSettings
    ) -> None:
        """When every model of the chain is down, the last error is raised."""
        catalogue = Catalogue((provider(model, "one", "a", "b"),), "one-a", ("one-b",))
        model.script(Error(500, "down"), Error(500, "down"))
        llm = open_model(catalogue, settings, capabilities=CapabilityMap())
        with pytest.raises(errors.ModelUnavailable):
            await llm.complete(MESSAGES, model="one-a", max_tokens=5, temperature=0)
        await llm.close()
