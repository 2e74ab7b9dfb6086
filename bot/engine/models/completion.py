"""What a model client returns and what the engine needs from one (LLMClient, FallbackModel)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.engine.models.tool_calls import ToolCall

OnDelta = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class TokenCount:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Completion:
    """A finished answer and how it went."""

    text: str
    usage: TokenCount | None  # None when the provider reported no usage
    attempts: int
    latency_s: float
    ttft_s: float | None  # time to the first token of the successful attempt
    model: str = ""  # the model that answered (a fallback model, if one stepped in)
    tool_calls: tuple[ToolCall, ...] = ()  # the functions the model asked to call
    rounds: int = 1  # model requests this answer took (tool rounds); usage adds them up


class ChatModel(Protocol):
    """What the engine needs from a model client (LLMClient, or a fallback pair of them)."""

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None = None,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion: ...

    async def close(self) -> None: ...
