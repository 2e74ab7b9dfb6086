"""A providers catalogue over several fake OpenAI servers: what the provider tests run on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_dialects import DIALECTS

ANTHROPIC_KEY = "sk-ant-fake-SECRET-anthropic-55"
NO_KEY = "not-needed"  # what the bot sends to a provider without api_key_env

CATALOGUE = """\
default_model = "{default}"

[[providers]]
name = "openai"
base_url = "{openai}"
api_key_env = "OPENAI_API_KEY"
max_retries = 0

[[providers.models]]
id = "gpt-test"
vision = true
tools = true

[[providers.models]]
id = "gpt-other"

[[providers]]
name = "anthropic"
base_url = "{anthropic}"
api_key_env = "TEST_ANTHROPIC_KEY"
preset = "anthropic"
max_retries = 0

[[providers.models]]
id = "claude-sonnet-4-5"
name = "claude"
vision = true
tools = true
reasoning = true
input_price = 3.0
output_price = 15.0

[[providers]]
name = "local"
base_url = "{local}"
preset = "ollama"
max_concurrency = {cap}

[[providers.models]]
id = "llama3.2"
name = "llama"
audio = true
"""


@dataclass
class Providers:
    """The fakes behind the catalogue besides the bot's own (the "openai" provider)."""

    anthropic: FakeOpenAI
    local: FakeOpenAI
    path: Path

    def env(self) -> dict[str, str]:
        return {"PROVIDERS_FILE": str(self.path), "TEST_ANTHROPIC_KEY": ANTHROPIC_KEY}


@asynccontextmanager
async def providers(
    openai: FakeOpenAI, folder: Path, *, cap: int = 2, default: str = "gpt-test"
) -> AsyncIterator[Providers]:
    """Two more fakes (Anthropic's dialect, and a keyless local Ollama) and the catalogue file
    naming all three."""
    async with (
        FakeOpenAI(api_key=ANTHROPIC_KEY) as anthropic,
        FakeOpenAI(api_key=NO_KEY) as local,
    ):
        anthropic.dialect = DIALECTS["anthropic"]
        path = folder / "providers.toml"
        text = CATALOGUE.format(
            openai=openai.base_url,
            anthropic=anthropic.base_url,
            local=local.base_url,
            cap=cap,
            default=default,
        )
        path.write_text(text, encoding="utf-8")
        yield Providers(anthropic, local, path)
