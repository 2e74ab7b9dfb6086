"""A turn's tool calls as stored with it: the exchange of messages, as compact JSON.

Read back for follow-up questions (the model sees what its tools said before) and /export.
"""

from __future__ import annotations

import json
from typing import Any

Message = dict[str, Any]


def stored(exchange: list[Message]) -> str | None:
    """The exchange as stored with the turn (compact JSON); None when no tool was called."""
    return json.dumps(exchange, separators=(",", ":"), ensure_ascii=False) if exchange else None


def restored(text: str | None) -> list[Message]:
    """A stored exchange as messages again (nothing, if it cannot be read)."""
    if not text:
        return []
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        return []
    if not isinstance(found, list):
        return []
    return [m for m in found if isinstance(m, dict) and m.get("role") in ("assistant", "tool")]


def calls_of(text: str | None) -> list[dict[str, str]]:
    """A stored exchange as the calls made: function, arguments and result, for /export."""
    results = {
        m.get("tool_call_id"): str(m.get("content", ""))
        for m in restored(text)
        if m["role"] == "tool"
    }
    calls = []
    for message in restored(text):
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            calls.append(
                {
                    "tool": str(function.get("name", "")),
                    "arguments": str(function.get("arguments", "")),
                    "result": results.get(call.get("id"), ""),
                }
            )
    return calls


def calls_markdown(text: str | None) -> str:
    """The calls as Markdown lines above the answer ("" when there were none)."""
    lines = [
        f"🔧 `{c['tool']}` `{c['arguments'][:200]}` → {c['result'][:300]!r}\n\n"
        for c in calls_of(text)
    ]
    return "".join(lines)
