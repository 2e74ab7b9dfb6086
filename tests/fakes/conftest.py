"""Fixtures for the fakes' own tests: each fake running, and a real client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
import telegram

from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    """A running FakeTelegram."""
    async with FakeTelegram(long_poll_cap=0.3) as fake:
        yield fake


@pytest.fixture
async def ptb_bot(fake_tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    """An initialized python-telegram-bot Bot talking to fake_tg."""
    async with telegram.Bot(fake_tg.token, base_url=fake_tg.base_url) as bot:
        yield bot


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    """A running FakeOpenAI."""
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def oai(fake_llm: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    """An AsyncOpenAI client without retries talking to fake_llm."""
    client = openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key=fake_llm.api_key, max_retries=0)
    async with client:
        yield client
