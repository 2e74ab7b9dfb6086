"""End to end: PROVIDERS_FILE's catalogue of three providers (three fake servers): /model lists
them all with marks, a chat's model is asked at its own provider with that provider's key,
fallbacks cross providers, and a provider's concurrency cap queues the rest fairly."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.observability.logs import get_logger
from tests.fakes.openai import Block, Error, FakeOpenAI
from tests.fakes.openai_dialects import FakeDialect
from tests.support.chats import PRIVATE, answer_in, say
from tests.support.providers import ANTHROPIC_KEY, NO_KEY, Providers, providers
from tests.support.running import API_KEY, LogCapture, RunningBot


@pytest.fixture
async def catalogue(
    model: FakeOpenAI, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Providers]:
    """The three fakes' catalogue; a test class may set CAP (the local provider's
    max_concurrency) and DEFAULT (the default model)."""
    cap, default = getattr(request.cls, "CAP", 2), getattr(request.cls, "DEFAULT", "gpt-test")
    async with providers(model, tmp_path, cap=cap, default=default) as found:
        yield found


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], catalogue: Providers, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The bot starts on the catalogue (OPENAI_MODELS and friends are then not used)."""
    for name, value in catalogue.env().items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env


def usage_rows(bot: RunningBot) -> list[tuple[str, float | None]]:
    path = Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT model, cost_usd FROM usage ORDER BY id"))


def max_overlap(fake: FakeOpenAI) -> int:
    """The most requests the fake was answering at one time."""
    edges = []
    for r in fake.requests:
        assert r.finished_at is not None
        edges += [(r.at, 1), (r.finished_at, -1)]
    most = now = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        most = max(most, now)
    return most


class TestModelPicker:
    async def test_lists_every_provider_with_marks(self, bot: RunningBot) -> None:
        """/model groups the models under their providers, each with its capability marks."""
        text = await say(bot, "/model", 1)
        assert "Current model: gpt-test" in text
        assert "👁 sees images" in text
        markup = bot.telegram.messages(PRIVATE)[0].reply_markup
        assert markup is not None
        labels = [row[0]["text"] for row in markup["inline_keyboard"]]
        assert labels == [
            "— openai —",
            "✅ gpt-test 👁🛠",
            "gpt-other",
            "— anthropic —",
            "claude 👁🛠💭",
            "— local —",
            "llama 🎤🛠",  # tools: the TOOL_MODELS patterns (the file left it out)
        ]

    async def test_button_switches_across_providers(
        self, bot: RunningBot, catalogue: Providers
    ) -> None:
        """Tapping another provider's model sends the chat's next message to that provider."""
        await say(bot, "/model", 1)
        picker = bot.telegram.messages(PRIVATE)[0]
        bot.telegram.push_callback_query(PRIVATE, PRIVATE, "model:2", picker.message_id)
        await bot.telegram.wait_for_call("editMessageText")
        assert await say(bot, "hello", 2) == "echo: hello"
        [request] = catalogue.anthropic.requests
        assert request.model == "claude-sonnet-4-5"
        assert bot.model.requests == []

    async def test_provider_header_is_not_a_choice(self, bot: RunningBot) -> None:
        """A provider's header button only explains itself; the model stays."""
        await say(bot, "/model", 1)
        picker = bot.telegram.messages(PRIVATE)[0]
        bot.telegram.push_callback_query(PRIVATE, PRIVATE, "model:-", picker.message_id)
        answer = await bot.telegram.wait_for_call("answerCallbackQuery")
        assert "provider" in str(answer.params.get("text"))
        await say(bot, "hi", 2)
        assert bot.model.requests[-1].model == "gpt-test"


class TestRouting:
    async def test_each_model_at_its_provider_with_its_key(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """Switching by name sends each request to its own server, with its own key and id."""
        await say(bot, "hi", 1)
        assert bot.model.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"
        assert "switched to claude" in await say(bot, "/model claude", 2)
        await say(bot, "to claude", 3)
        [claude] = catalogue.anthropic.requests
        assert claude.headers["Authorization"] == f"Bearer {ANTHROPIC_KEY}"
        assert claude.model == "claude-sonnet-4-5"
        assert "temperature" not in claude.body  # the anthropic preset: none for reasoning
        await say(bot, "/model llama", 4)
        await say(bot, "to llama", 5)
        [local] = catalogue.local.requests
        assert (local.model, local.headers["Authorization"]) == ("llama3.2", f"Bearer {NO_KEY}")
        assert local.body["temperature"] == bot.settings.conversation.temperature
        await logs.wait_for("reply_finished", 3)
        models = [model for model, _ in usage_rows(bot)]
        assert models == ["gpt-test", "claude", "llama"]
        assert usage_rows(bot)[1][1] is not None  # priced by the catalogue
        assert ANTHROPIC_KEY not in logs.text and API_KEY not in logs.text

    async def test_other_chats_keep_their_model(
        self, bot: RunningBot, catalogue: Providers
    ) -> None:
        """The choice is the chat's: another chat still asks the default provider."""
        await say(bot, "/model llama", 1)
        bot.telegram.send_private_text(PRIVATE + 1, "other")
        await answer_in(bot, PRIVATE + 1, 1)
        assert bot.model.requests[-1].model == "gpt-test"
        assert catalogue.local.requests == []


class TestSecrets:
    async def test_keys_named_by_the_file_are_redacted(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A key read through api_key_env is known to the log redactor: never printed."""
        get_logger("test").warning("leak_attempt", value=f"key={ANTHROPIC_KEY}")
        [event] = logs.named("leak_attempt")
        assert ANTHROPIC_KEY not in logs.text and "[REDACTED]" in event["value"]


class TestFallbackAcrossProviders:
    ENV = {"FALLBACK_MODELS": "claude,llama"}  # noqa: RUF012 - read by tests/telegram/conftest.py

    async def test_chain_goes_on_to_the_next_provider(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """The default provider down, then the first fallback's: the local model answers."""
        bot.model.script(Error(500, "down"))
        catalogue.anthropic.script(Error(529, "overloaded"))
        assert await say(bot, "question", 1) == "echo: question"
        assert [r.model for r in catalogue.local.requests] == ["llama3.2"]
        used = [(e["model"], e["fallback_model"]) for e in logs.named("fallback_used")]
        assert used == [("gpt-test", "claude"), ("gpt-test", "llama")]
        [done] = await logs.wait_for("reply_finished")
        assert done["model"] == "llama"

    async def test_configuration_error_is_not_hidden(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """A refused key at the first fallback is reported, not passed over."""
        bot.model.script(Error(500, "down"))
        catalogue.anthropic.script(Error(401, "invalid x-api-key"))
        await say(bot, "question", 1)
        assert catalogue.local.requests == []
        assert logs.named("model_config_error")[0]["model"] == "claude"


class TestConcurrencyCap:
    CHATS = 7  # the cap (2) and five more

    async def test_no_more_than_the_cap_at_once_and_all_answered(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """N+5 chats on a cap of N: the server never sees more than N at once; all answered."""
        chats = [PRIVATE + i for i in range(self.CHATS)]
        for chat in chats:
            bot.telegram.send_private_text(chat, "/model llama")
            await answer_in(bot, chat, 1)
        catalogue.local.default_ttft = 0.2
        for chat in chats:
            bot.telegram.send_private_text(chat, f"from {chat}")
        answers = await asyncio.gather(*(answer_in(bot, c, 2, timeout=30) for c in chats))
        assert answers == [f"echo: from {chat}" for chat in chats]
        assert len(catalogue.local.requests) == self.CHATS
        assert max_overlap(catalogue.local) == 2
        waits = logs.named("provider_queue_wait")
        assert waits and {(e["provider"], e["cap"]) for e in waits} == {("local", 2)}


class TestFairQueue:
    CAP = 1
    DEFAULT = "llama"

    async def test_a_busy_chat_does_not_starve_another(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """One chat with four questions and a cap of one: another chat's question is served
        right after the one in flight, not after the busy chat's whole queue."""
        gate = asyncio.Event()
        catalogue.local.script(Block(gate))
        busy, other = PRIVATE, PRIVATE + 1
        for n in range(4):
            bot.telegram.send_private_text(busy, f"busy {n}")
        await catalogue.local.wait_for_requests(1)
        bot.telegram.send_private_text(other, "other")
        await logs.wait_for("provider_queue_wait")  # the other chat waits for the slot
        gate.set()
        await answer_in(bot, busy, 4, timeout=30)
        await answer_in(bot, other, 1, timeout=30)
        asked = [r.messages[-1]["content"] for r in catalogue.local.requests]
        assert asked == ["busy 0", "other", "busy 1", "busy 2", "busy 3"]


class TestDialectAtTheEdge:
    async def test_usage_never_reported_is_estimated(
        self, bot: RunningBot, catalogue: Providers, logs: LogCapture
    ) -> None:
        """A provider that never reports usage: the answer arrives; the tokens are estimated."""
        catalogue.local.dialect = FakeDialect(usage="never")
        await say(bot, "/model llama", 1)
        assert await say(bot, "count me", 2) == "echo: count me"
        [done] = await logs.wait_for("reply_finished")
        assert done["usage_estimated"] is True
