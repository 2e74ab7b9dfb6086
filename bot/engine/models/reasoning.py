"""A reasoning model's thinking, told apart from its answer while both stream.

Providers send the thinking in a delta field of its own (`reasoning_content`: DeepSeek,
llama.cpp, vLLM; `reasoning`: OpenRouter, Ollama) or as a `<think>…</think>` block at the start
of the content (DeepSeek-R1 distills, QwQ, Qwen3 on servers that do not split it out). Either
way the pieces of thinking reach `on_delta` as `Reasoning` strings, so that a channel may show
them apart; they are never part of the answer's text, so they are neither stored nor sent back
to the model in later turns.
"""

from __future__ import annotations

from typing import Any

OPEN, CLOSE = "<think>", "</think>"
REASONING_FIELDS = ("reasoning_content", "reasoning")


class Reasoning(str):
    """A piece of the model's thinking (not of its answer), as passed to `on_delta`."""

    __slots__ = ()


def reasoning_delta(delta: dict[str, Any]) -> Reasoning | None:
    """The thinking a delta carries in a field of its own, if any."""
    for name in REASONING_FIELDS:
        value = delta.get(name)
        if isinstance(value, str) and value:
            return Reasoning(value)
    return None


def _partial_tail(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Splits streamed content into thinking (a leading `<think>` block) and answer, however
    the tags are cut across chunks."""

    def __init__(self) -> None:
        self._state = "start"  # start -> thinking -> answer, or start -> answer
        self._held = ""  # text that may still turn out to be (part of) a tag
        self._trim = False  # drop the blank lines that follow </think>
        self._lead = False  # drop the newlines that open the block, however they are cut

    def feed(self, piece: str) -> list[str]:
        """The answer text (str) and thinking (Reasoning) that `piece` completes, in order."""
        self._held += piece
        if self._state == "start":
            return self._start()
        if self._state == "thinking":
            return self._thinking()
        return self._answer()

    def finish(self) -> list[str]:
        """Whatever is still held when the stream ends."""
        held, self._held = self._held, ""
        if not held:
            return []
        return [Reasoning(held)] if self._state == "thinking" else [held]

    def _start(self) -> list[str]:
        stripped = self._held.lstrip()
        if not stripped or (OPEN.startswith(stripped) and stripped != OPEN):
            return []  # blank, or maybe the tag's beginning: wait for more
        if stripped.startswith(OPEN):
            self._state, self._held, self._lead = "thinking", stripped[len(OPEN) :], True
            return self._thinking()
        self._state = "answer"
        return self._answer()

    def _thinking(self) -> list[str]:
        if self._lead:
            self._held = self._held.lstrip("\n")
            self._lead = not self._held
        end = self._held.find(CLOSE)
        if end >= 0:
            thought, rest = self._held[:end], self._held[end + len(CLOSE) :]
            self._state, self._held, self._trim = "answer", rest, True
            out: list[str] = [Reasoning(thought)] if thought else []
            return out + self._answer()
        keep = _partial_tail(self._held, CLOSE)
        thought = self._held[: len(self._held) - keep]
        self._held = self._held[len(thought) :]
        return [Reasoning(thought)] if thought else []

    def _answer(self) -> list[str]:
        text, self._held = self._held, ""
        if self._trim:
            text = text.lstrip()
            self._trim = not text
        return [text] if text else []
