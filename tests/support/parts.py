"""Sample texts that are hard to split (joined emoji, characters outside the BMP) and the checks
every set of message parts must pass."""

from __future__ import annotations

from collections.abc import Sequence

from bot.telegram.format.split import RenderedPart, utf16_len

FAMILY = "👩\u200d👩\u200d👧"
# Mathematical Fraktur letters: outside the BMP, two UTF-16 units each.
U = "\U0001d518"
UNICODE = U + "\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522"


def part_starts(full: str, parts: Sequence[str]) -> list[int]:
    """Where each part starts in ``full``, asserting the gaps between parts are whitespace."""
    starts: list[int] = []
    pos = 0
    for part in parts:
        while not full.startswith(part, pos):
            assert pos < len(full), f"part {len(starts)} not found: {part!r}"
            assert full[pos].isspace(), f"non-whitespace {full[pos]!r} lost at {pos}"
            pos += 1
        starts.append(pos)
        pos += len(part)
    assert not full[pos:].strip(), f"text lost after the last part: {full[pos:]!r}"
    return starts


def assert_valid_parts(parts: Sequence[RenderedPart], limit: int) -> None:
    """Every part fits, is not blank, and carries only in-bounds, non-empty entities."""
    for part in parts:
        size = utf16_len(part.text)
        assert 0 < size <= limit
        assert part.text.strip()
        assert part.text == part.text.rstrip()
        for entity in part.entities:
            assert entity.offset >= 0
            assert entity.length > 0
            assert entity.offset + entity.length <= size
