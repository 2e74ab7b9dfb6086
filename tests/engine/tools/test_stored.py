"""A turn's tool exchange as stored: read back for follow-ups and /export, garbage ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.engine.tools.stored import calls_markdown, calls_of, restored, stored

EXCHANGE: list[dict[str, Any]] = [
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "t__a", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "result A"},
]


class TestStored:
    def test_round_trip(self) -> None:
        """What is stored is compact JSON and comes back as the same messages."""
        text = stored(EXCHANGE)
        assert text is not None and " " not in text.replace("result A", "")
        assert restored(text) == EXCHANGE
        assert stored([]) is None

    @pytest.mark.parametrize(
        "text", [None, "", "not json", "{}", json.dumps([{"role": "system", "content": "x"}])]
    )
    def test_unreadable_or_foreign_messages_are_dropped(self, text: str | None) -> None:
        """Nothing but assistant and tool messages ever comes back (no system role)."""
        assert restored(text) == []

    def test_calls_for_export(self) -> None:
        """/export pairs each call with its result."""
        assert calls_of(stored(EXCHANGE)) == [
            {"tool": "t__a", "arguments": "{}", "result": "result A"}
        ]
        assert "`t__a`" in calls_markdown(stored(EXCHANGE))
        assert calls_markdown(None) == ""
