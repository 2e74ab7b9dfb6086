"""Recorded requests and the scripted behaviours of the fake OpenAI server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_tools import ToolCalls


@dataclass
class ChatRequest:
    """One request the fake OpenAI server received (any path, recorded before the auth check)."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    first_token_at: float | None = None  # when the first content chunk was written
    finished_at: float | None = None  # when the last byte of a complete answer was written

    @property
    def model(self) -> str:
        """The requested model."""
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def stream(self) -> bool:
        """Whether a streamed answer was asked for."""
        return bool(self.body.get("stream"))


@dataclass
class Reply:
    """Answer with text; None timing and chunking fall back to the fake's defaults."""

    text: str
    chunks: int | None = None
    ttft: float | None = None
    chunk_delay: float | None = None
    usage: bool = True
    finish_reason: str = "stop"
    hold: asyncio.Event | None = None  # if set: after hold_after content chunks, wait for it
    hold_after: int = 1
    # Stream as some providers do: SSE comments (OpenRouter's keep-alives), then chunks with
    # null choices, a null delta and null content between the real ones.
    odd_chunks: bool = False


@dataclass
class Error:
    """Answer with an OpenAI-shaped error body, e.g. Error(429, "Rate limit", headers=...)."""

    status: int
    message: str
    code: str | None = None
    type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class CutStream:
    """Stream the role chunk and after_chunks content chunks, then drop the connection."""

    text: str
    after_chunks: int
    chunks: int | None = None


@dataclass
class Hang:
    """Wait seconds before answering (with `then`, or the default reply)."""

    seconds: float
    then: Behaviour | None = None


@dataclass
class Block:
    """Wait for event before answering (with `then`, or the default reply)."""

    event: asyncio.Event
    then: Behaviour | None = None


Behaviour = Reply | Error | CutStream | Hang | Block | ToolCalls
