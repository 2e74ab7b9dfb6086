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
