"""What a model can take and do beyond text: see images, hear audio, call tools, reason.

One place answers "can this model ...?" for every feature. Until a providers catalogue
describes its models, the answer comes from glob patterns (VISION_MODELS, TOOL_MODELS) whose
defaults name well-known models; a catalogue entry, when there is one, overrides the patterns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config.capabilities import DEFAULT_TOOL_MODELS, DEFAULT_VISION_MODELS


@dataclass(frozen=True)
class Capabilities:
    """What one model accepts besides text."""

    vision: bool = False  # image_url content parts
    audio: bool = False  # input_audio content parts
    tools: bool = False  # function calling
    reasoning: bool = False  # streams its thinking apart from its answer

    def marks(self) -> str:
        """The marks /model shows beside the name: 👁 🎤 🛠 💭."""
        flags = ((self.vision, "👁"), (self.audio, "🎤"), (self.tools, "🛠"), (self.reasoning, "💭"))
        return "".join(mark for on, mark in flags if on)


def _bare(model: str) -> str:
    """The id without a router's "vendor/" prefix or ":variant" suffix, lower-cased."""
    return model.rsplit("/", 1)[-1].split(":", 1)[0].lower()


def matches(model: str, patterns: Iterable[str]) -> bool:
    """Whether a model id matches one of the globs (case-insensitive; prefix-free)."""
    bare, full = _bare(model), model.lower()
    return any(fnmatchcase(bare, p.lower()) or fnmatchcase(full, p.lower()) for p in patterns)


class CapabilityMap:
    """Capabilities by model: a catalogue's word first, then the patterns."""

    def __init__(
        self,
        *,
        vision: Iterable[str] = DEFAULT_VISION_MODELS,
        tools: Iterable[str] = DEFAULT_TOOL_MODELS,
        known: Mapping[str, Capabilities] | None = None,
    ) -> None:
        self._vision = tuple(vision)
        self._tools = tuple(tools)
        self._known = dict(known or {})

    def of(self, model: str) -> Capabilities:
        """What the model can do."""
        if model in self._known:
            return self._known[model]
        return Capabilities(vision=matches(model, self._vision), tools=matches(model, self._tools))

    def which(
        self, models: Iterable[str], *, vision: bool = False, tools: bool = False
    ) -> list[str]:
        """The models, of those given, that have the asked capabilities: for telling a user
        which models could do what theirs cannot."""
        return [
            m
            for m in models
            if (not vision or self.of(m).vision) and (not tools or self.of(m).tools)
        ]
