"""The fake's Telegram text rules: lengths, emptiness, explicit entities."""

from __future__ import annotations

import pytest

from tests.fakes._tg_models import ApiError
from tests.fakes._tg_text import parse_checked, parse_text
from tests.fakes._tg_updates import auto_entities


def _error(text: str, mode: str | None, entities: object = None) -> str:
    with pytest.raises(ApiError) as caught:
        parse_checked(text, mode, entities, limit=4096)
    assert caught.value.status == 400
    return caught.value.description


class TestChecks:
    def test_length_counts_utf16_after_parsing(self) -> None:
        """4096 UTF-16 units pass, one more fails."""
        assert parse_checked("😀" * 2048, None, None, limit=4096)
        assert "too long" in _error("😀" * 2048 + "x", None)

    def test_explicit_entities_win_over_parse_mode(self) -> None:
        """With entities given, parse_mode is ignored and the text is taken literally."""
        bold = [{"type": "bold", "offset": 0, "length": 3}]
        assert parse_text("<b>", "HTML", bold) == ("<b>", bold)

    @pytest.mark.parametrize(
        "entities",
        [
            [{"type": "bold", "offset": 1, "length": 2}],
            [{"type": "shiny", "offset": 0, "length": 1}],
            [{"type": "text_link", "offset": 0, "length": 1}],
            "not a list",
        ],
    )
    def test_bad_explicit_entities(self, entities: object) -> None:
        """Out of range, unknown or incomplete entities are 400s."""
        assert "can't parse entities" in _error("😀", None, entities)

    def test_unknown_parse_mode(self) -> None:
        """An unknown parse_mode is a 400."""
        assert "unsupported parse_mode" in _error("x", "BBCode")

    def test_auto_entities_for_builders(self) -> None:
        """A leading /command and @mentions get entities, with UTF-16 offsets."""
        assert auto_entities("/ask@test_llm_bot 😀 @someone") == [
            {"type": "bot_command", "offset": 0, "length": 17},
            {"type": "mention", "offset": 21, "length": 8},
        ]
