"""Dialect switches of the fake OpenAI server: other providers' documented differences.

`fake.dialect = FakeDialect(...)` (or `fake.dialect = DIALECTS["gemini"]`) makes one FakeOpenAI
answer like another provider's OpenAI-compatible endpoint: parameters it refuses, where (or
whether) it reports usage, the shape of its error bodies, and how reasoning models stream
their thinking. Several fakes with different dialects stand for several providers in one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from tests.fakes._oai_script import ChatRequest

ErrorShape = Literal["openai", "list", "flat", "anthropic"]
Reasoning = Literal["reasoning_content", "reasoning", "think"]
THOUGHT = "Let me think. The user wants an echo."


@dataclass
class Refusal:
    """A 400 the dialect answers a request with."""

    message: str
    param: str


@dataclass(frozen=True)
class FakeDialect:
    """What one provider's endpoint does differently from OpenAI's (default: nothing)."""

    refuse_max_tokens: bool = False  # only max_completion_tokens (OpenAI's reasoning models)
    refuse_temperature: frozenset[str] = frozenset()  # models that take no temperature
    refuse_roles: frozenset[str] = frozenset()  # e.g. {"developer"} on older servers
    usage: Literal["asked", "always", "never"] = "asked"  # always: in the last chunk, unasked
    error_shape: ErrorShape = "openai"
    reasoning: Reasoning | None = None  # how reasoning models stream their thinking
    reasoning_models: frozenset[str] = frozenset()  # None: every model reasons
    thought: str = THOUGHT

    def refusal(self, chat: ChatRequest) -> Refusal | None:
        """Why this provider refuses the request, if it does."""
        body = chat.body
        if self.refuse_max_tokens and "max_tokens" in body:
            return Refusal(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
            )
        if chat.model in self.refuse_temperature and "temperature" in body:
            return Refusal(
                "Unsupported value: 'temperature' does not support 0.7 with this model.",
                "temperature",
            )
        roles = {m.get("role") for m in chat.messages} & self.refuse_roles
        if roles:
            return Refusal(f"Invalid value: '{roles.pop()}'. Supported roles: ...", "messages")
        return None

    def error_body(self, body: dict[str, Any]) -> Any:
        """An OpenAI error body in this provider's shape."""
        error = body["error"]
        if self.error_shape == "list":  # Gemini: a list of one
            return [{"error": {"code": 400, "message": error["message"], "status": "INVALID"}}]
        if self.error_shape == "flat":  # vLLM: no "error" wrapper
            return {"object": "error", "message": error["message"], "type": error["type"]}
        if self.error_shape == "anthropic":
            return {"type": "error", "error": {"type": error["type"], "message": error["message"]}}
        return body

    def wants_usage(self, asked: bool) -> bool:
        """Whether the stream ends with a usage chunk."""
        return {"asked": asked, "always": True, "never": False}[self.usage]

    def reasons(self, model: str) -> bool:
        return self.reasoning is not None and (
            not self.reasoning_models or model in self.reasoning_models
        )

    def reasoning_deltas(self, model: str) -> Iterator[dict[str, Any]]:
        """The deltas carrying the thinking, before the answer (in a separate field)."""
        if self.reasons(model) and self.reasoning in ("reasoning_content", "reasoning"):
            assert self.reasoning is not None
            for word in self.thought.split(" "):
                yield {"content": None, self.reasoning: word + " "}

    def answer_text(self, model: str, text: str) -> str:
        """The answer's content: with a <think> block in front for `think` models."""
        if self.reasons(model) and self.reasoning == "think":
            return f"<think>\n{self.thought}\n</think>\n\n{text}"
        return text


DIALECTS: dict[str, FakeDialect] = {
    "openai-reasoning": FakeDialect(
        refuse_max_tokens=True, refuse_temperature=frozenset({"o3-mini"})
    ),
    "anthropic": FakeDialect(error_shape="anthropic"),
    "gemini": FakeDialect(error_shape="list", refuse_roles=frozenset({"developer"})),
    "ollama": FakeDialect(reasoning="reasoning"),
    "llamacpp": FakeDialect(usage="always", reasoning="reasoning_content"),
    "vllm": FakeDialect(error_shape="flat", reasoning="reasoning_content"),
    "deepseek": FakeDialect(reasoning="reasoning_content"),
    "openrouter": FakeDialect(reasoning="reasoning"),
    "no-usage": FakeDialect(usage="never"),
}
