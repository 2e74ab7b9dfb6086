"""UTF-16 measuring: Telegram counts lengths and offsets in UTF-16 code units."""

from __future__ import annotations

from typing import Any

Entities = list[dict[str, Any]]


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units (Telegram's unit for lengths and offsets)."""
    return len(text.encode("utf-16-le")) // 2
