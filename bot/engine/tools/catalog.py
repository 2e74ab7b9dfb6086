"""What the model is offered and what a call gives back, as plain values (no SDK types)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
SEPARATOR = "__"  # function name = server + SEPARATOR + tool (OpenAI allows [A-Za-z0-9_-]{1,64})


@dataclass(frozen=True)
class Tool:
    """One tool of one server, as configured and listed."""

    server: str
    name: str  # the server's own name for it
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments
    admins_only: bool = False

    @property
    def function_name(self) -> str:
        """The name the model calls it by: unique across servers, within OpenAI's rules."""
        return f"{self.server}{SEPARATOR}{_UNSAFE.sub('_', self.name)}"[:64]

    def openai(self) -> dict[str, Any]:
        """The tool in OpenAI's function-calling format."""
        return {
            "type": "function",
            "function": {
                "name": self.function_name,
                "description": self.description[:1024],
                "parameters": self.parameters or {"type": "object", "properties": {}},
            },
        }


class Outcome(StrEnum):
    """How a tool call ended (logged, counted, stored)."""

    OK = "ok"
    ERROR = "error"  # the tool said it failed
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # the server is down (starting, crashed, restarting)
    UNKNOWN_TOOL = "unknown_tool"
    INVALID_ARGUMENTS = "invalid_arguments"
    CANCELLED = "cancelled"  # the answer was stopped (/stop, shutdown) while the tool ran


@dataclass(frozen=True)
class ToolResult:
    """What a call gave back: text for the model, the outcome, the size before any cut."""

    text: str
    outcome: Outcome
    chars: int

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
