"""UTF-16 measuring and the builder the parse_mode parsers write plain text and entities into."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Entities = list[dict[str, Any]]


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units (Telegram's unit for lengths and offsets)."""
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of text[index], as Telegram reports parse errors."""
    return len(text[:index].encode())


class TextBuilder:
    """Collects parsed plain text and the entities found in it (UTF-16 offsets)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: Entities = []

    def add(self, text: str) -> None:
        """Append plain text."""
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(
        self, type_: str, start: int, extra: Mapping[str, Any] | None = None, end: int | None = None
    ) -> None:
        """Record an entity from start to end (default: now) with extra fields; drop empty ones."""
        stop = self.pos if end is None else end
        if stop > start:
            entity = {"type": type_, "offset": start, "length": stop - start, **(extra or {})}
            self.entities.append(entity)

    def result(self) -> tuple[str, Entities]:
        """The plain text and its entities sorted by offset."""
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ordered
