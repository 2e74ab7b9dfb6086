"""Tool calls for the fake OpenAI server: a scripted answer that streams `tool_calls` deltas
the way OpenAI does (an id and name first, the arguments in pieces), several calls at once
with their pieces interleaved, ending with finish_reason "tool_calls".

    fake.script(ToolCalls([Call("test__echo", {"text": "hi"})]), Reply("the answer"))
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes import _oai_payloads as payloads
from tests.fakes._server import drop_connection

if TYPE_CHECKING:
    from tests.fakes._oai_script import ChatRequest
    from tests.fakes.openai import FakeOpenAI


@dataclass
class Call:
    """One function call: its arguments as an object, or as raw text (to send broken JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def raw_arguments(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class ToolCalls:
    """Stream `text` (if any), then the calls, each call's arguments cut into `pieces`."""

    calls: list[Call]
    text: str = ""
    pieces: int = 3
    usage: bool = True


def offered_tools(chat: ChatRequest) -> list[str]:
    """The function names a request offered (its `tools`)."""
    tools = chat.body.get("tools") or []
    return [t["function"]["name"] for t in tools if isinstance(t, dict) and "function" in t]


def tool_messages(chat: ChatRequest) -> list[dict[str, Any]]:
    """The `tool` role messages a request carried (results given to the model)."""
    return [m for m in chat.messages if m.get("role") == "tool"]


def _pieces(text: str, count: int) -> list[str]:
    return payloads.split_text(text, count, 1) if text else [""]


def _call_chunks(calls: list[Call], pieces: int) -> list[dict[str, Any]]:
    """Deltas: every call's id and name first, then the argument pieces interleaved."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        head = {"name": call.name, "arguments": ""}
        call_id = call.id or f"call_{index}_{call.name}"[:40]
        deltas.append({"index": index, "id": call_id, "type": "function", "function": head})
    split = [_pieces(call.raw_arguments, pieces) for call in calls]
    for step in range(max(len(s) for s in split)):
        for index, parts in enumerate(split):
            if step < len(parts):
                deltas.append({"index": index, "function": {"arguments": parts[step]}})
    return [{"tool_calls": [delta]} for delta in deltas]


async def stream_tool_calls(
    fake: FakeOpenAI, request: web.Request, chat: ChatRequest, calls: ToolCalls
) -> web.StreamResponse:
    """Stream the scripted tool calls as chat.completion.chunk events."""
    ids = fake._ids(chat)
    usage_key = fake._wants_usage(chat)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    try:
        await response.prepare(request)
        await response.write(ids.chunk({"role": "assistant", "content": None}, None, usage_key))
        if calls.text:
            await response.write(ids.chunk({"content": calls.text}, None, usage_key))
        for delta in _call_chunks(calls.calls, calls.pieces):
            await response.write(ids.chunk(delta, None, usage_key))
        await response.write(ids.chunk({}, "tool_calls", usage_key))
        if usage_key and calls.usage:
            spoken = calls.text + "".join(c.raw_arguments for c in calls.calls)
            await response.write(ids.usage_chunk(fake._usage(chat, spoken)))
        await response.write(payloads.DONE)
        chat.finished_at = time.monotonic()
    except ConnectionError:
        return drop_connection(request)
    return response
