"""Which models see images and call tools: patterns by default, a catalogue's word first."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.engine.models.capabilities import Capabilities, CapabilityMap, matches


@pytest.mark.parametrize(
    ("model", "vision", "tools"),
    [
        ("gpt-4o-mini", True, True),
        ("gpt-3.5-turbo", False, True),
        ("openai/gpt-4o", True, True),  # a router's vendor prefix
        ("google/gemini-2.0-flash-exp:free", True, True),  # and its variant suffix
        ("claude-3-5-haiku-latest", True, True),
        ("deepseek-reasoner", False, False),
        ("llava:13b", True, False),
        ("SmolLM2-135M-Instruct", False, False),
    ],
)
def test_default_patterns(model: str, vision: bool, tools: bool) -> None:
    caps = CapabilityMap().of(model)
    assert (caps.vision, caps.tools) == (vision, tools)


def test_configured_patterns_replace_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISION_MODELS", "my-vl-*")
    monkeypatch.setenv("TOOL_MODELS", "")
    model = load_settings(require_telegram=False, env_file=None).model
    caps = CapabilityMap(vision=model.vision_models, tools=model.tool_models)
    assert caps.of("my-vl-7b").vision and not caps.of("gpt-4o").vision
    assert not caps.of("gpt-4o").tools


def test_a_catalogue_entry_overrides_the_patterns() -> None:
    known = {"gpt-4o": Capabilities(tools=True, reasoning=True)}
    caps = CapabilityMap(known=known)
    assert caps.of("gpt-4o") == Capabilities(tools=True, reasoning=True)
    assert caps.of("gpt-4o").marks() == "🛠💭"
    assert caps.which(["gpt-4o", "gpt-4o-mini", "o1-mini"], vision=True) == ["gpt-4o-mini"]


def test_matching_is_case_insensitive() -> None:
    assert matches("GPT-4o", ["gpt-4o*"])
    assert not matches("gpt-4", ["gpt-4o*"])
