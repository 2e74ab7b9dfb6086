"""JSON bodies of the fake OpenAI server: completions, stream chunks, errors, token estimates.

Token counts are rough on purpose: len(text) // 4 + 1 per text; a prompt counts each message's
text content that way (no per-message overhead).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

JsonDict = dict[str, Any]
_WORD_START = re.compile(r"(?<=\s)(?=\S)")


def estimate_tokens(text: str) -> int:
    """Rough token count of a text."""
    return len(text) // 4 + 1


def content_text(message: JsonDict) -> str:
    """The text of a chat message (string content, or the text parts of a list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(messages: list[JsonDict]) -> int:
    """Rough token count of a prompt."""
    return sum(estimate_tokens(content_text(m)) for m in messages)


def echo_reply(messages: list[JsonDict]) -> str:
    """The default answer: 'echo: ' and the last user message."""
    users = [m for m in messages if m.get("role") == "user"]
    return "echo: " + (content_text(users[-1]) if users else "")


def split_text(text: str, chunks: int | None, words_per_chunk: int) -> list[str]:
    """Pieces whose concatenation is text: `chunks` equal parts, else N words per piece."""
    if not text:
        return []
    if chunks:
        size = math.ceil(len(text) / min(chunks, len(text)))
        return [text[i : i + size] for i in range(0, len(text), size)]
    words = _WORD_START.split(text)
    step = max(words_per_chunk, 1)
    return ["".join(words[i : i + step]) for i in range(0, len(words), step)]


def usage(prompt: int, completion: int) -> JsonDict:
    """An OpenAI usage object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> JsonDict:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def default_error_type(status: int) -> str:
    """OpenAI's usual error type for a status."""
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


class CompletionIds:
    """Builds completion objects sharing one id and creation time."""

    def __init__(self, serial: int, model: str) -> None:
        self.id = f"chatcmpl-fake-{serial}"
        self.model = model
        self.created = int(time.time())

    def _base(self, obj: str) -> JsonDict:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

    def completion(self, text: str, finish_reason: str, use: JsonDict | None) -> JsonDict:
        """A non-streamed chat.completion."""
        message = {"role": "assistant", "content": text, "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        body = {**self._base("chat.completion"), "choices": [choice]}
        if use is not None:
            body["usage"] = use
        return body

    def chunk(self, delta: JsonDict, finish_reason: str | None, with_usage_key: bool) -> bytes:
        """One SSE event with a chat.completion.chunk."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body = {**self._base("chat.completion.chunk"), "choices": [choice]}
        if with_usage_key:
            body["usage"] = None
        return sse(body)

    def usage_chunk(self, use: JsonDict) -> bytes:
        """The final SSE event of include_usage: no choices, only usage."""
        return sse({**self._base("chat.completion.chunk"), "choices": [], "usage": use})


def sse(body: JsonDict) -> bytes:
    """One server-sent event."""
    return f"data: {json.dumps(body)}\n\n".encode()


DONE = b"data: [DONE]\n\n"
KEEP_ALIVE = b": OPENROUTER PROCESSING\n\n"


def odd_chunks(ids: CompletionIds) -> list[bytes]:
    """Chunks that carry no text in the ways providers send them."""
    base = ids._base("chat.completion.chunk")
    null_delta = {"index": 0, "delta": None, "finish_reason": None}
    null_content = {"index": 0, "delta": {"content": None}, "finish_reason": None}
    return [
        KEEP_ALIVE,
        sse({**base, "choices": None}),
        sse({**base, "choices": [null_delta]}),
        sse({**base, "choices": [null_content]}),
    ]
