"""Tool calls as a model streams them: an id and a function name first, then the arguments
in pieces, several calls told apart by their index. Assembled here into whole calls.

What a model writes is bounded like anything else it sends: at most MAX_CALLS calls a round
and MAX_ARGUMENT_CHARS of arguments each (more is dropped, and the call's arguments then fail
to parse, which the model is told).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_CALLS = 16
MAX_ARGUMENT_CHARS = 64_000


@dataclass(frozen=True)
class ToolCall:
    """One whole call: the provider's id for it, the function, the arguments as written."""

    id: str
    name: str
    arguments: str

    def message_part(self) -> dict[str, Any]:
        """The call as it goes back to the model in the assistant message's `tool_calls`."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """Collects the `tool_calls` deltas of a stream's chunks."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        """Take the tool-call deltas of one chunk (of its first choice: we ask for one)."""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            for call in calls if isinstance(calls, list) else ():
                if isinstance(call, dict):
                    self._add_delta(call)

    def _add_delta(self, delta: dict[str, Any]) -> None:
        index = delta.get("index", len(self._calls))
        if not isinstance(index, int) or (
            index not in self._calls and len(self._calls) >= MAX_CALLS
        ):
            return
        partial = self._calls.setdefault(index, _Partial())
        if isinstance(delta.get("id"), str) and delta["id"]:
            partial.id = delta["id"][:100]
        function = delta.get("function")
        if not isinstance(function, dict):
            return
        if isinstance(function.get("name"), str):
            partial.name = (partial.name + function["name"])[:100]
        piece = function.get("arguments")
        if isinstance(piece, str) and len(partial.arguments) < MAX_ARGUMENT_CHARS:
            partial.arguments += piece[: MAX_ARGUMENT_CHARS - len(partial.arguments)]

    def calls(self) -> tuple[ToolCall, ...]:
        """The calls, in index order; a call without an id gets one."""
        return tuple(
            ToolCall(p.id or f"call_{index}", p.name, p.arguments)
            for index, p in sorted(self._calls.items())
            if p.name
        )
