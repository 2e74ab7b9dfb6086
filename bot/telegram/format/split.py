"""Cutting formatted text into parts that fit in one Telegram message each.

Telegram measures message length and entity offsets in UTF-16 code units and rejects a
message longer than 4096 of them. A cut goes, in order of preference, into:

1. a paragraph break (a whitespace run holding two or more line breaks) outside any code block,
2. any line break (code blocks included),
3. any other whitespace (between words),
4. between two characters (last resort), never inside a surrogate pair and, when the grapheme
   cluster is short, not inside one (flags, ZWJ emoji sequences, combining marks).

The greedy choice is the *last* such place that still fits, so parts are as full as the
preferred kind of cut allows.

Nothing-lost invariant, for the text ``T`` that is split (after :func:`normalize_text`)
and the part texts ``p_1 .. p_n``::

    T == g_0 + p_1 + g_1 + p_2 + ... + g_(n-1) + p_n + g_n

where every gap ``g_i`` is whitespace only (possibly empty). A cut in whitespace drops the
whole run, except the indentation after its last line break, which stays at the start of
the next part (code stays indented); a hard cut drops nothing. So no part is empty or
whitespace only, no part ends in whitespace, and a part starts with whitespace only when
that whitespace is indentation.

Entities crossing a cut are clipped into every part they touch and re-based, so a code
block split in two becomes a ``pre`` entity (same language) in each part.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from telegram import MessageEntity
from telegram.constants import MessageEntityType

__all__ = [
    "MAX_MESSAGE_UTF16",
    "RenderedPart",
    "normalize_text",
    "plain_parts",
    "split_formatted",
    "utf16_len",
]

MAX_MESSAGE_UTF16 = 4096
"""Telegram's limit for the text of one message, in UTF-16 code units."""

_WHITESPACE = re.compile(r"\s+")
_ZWJ = "\u200d"
# How far a hard cut may move back to keep a grapheme cluster whole; longer clusters
# (pathological combining-mark chains) are cut anyway.
_MAX_BACKOFF = 32


@dataclass(frozen=True, slots=True)
class RenderedPart:
    """One message's worth of text, with entities in UTF-16 units relative to ``text``."""

    text: str
    entities: tuple[MessageEntity, ...] = ()


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units, as Telegram counts it."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def normalize_text(s: str) -> str:
    """Join surrogate pairs and replace lone surrogates with U+FFFD.

    Telegram cannot carry a lone surrogate (it is not UTF-8), and a pair stored as two
    code points would let a cut fall between its halves. The UTF-16 length, and so every
    entity offset, is unchanged.
    """
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def plain_parts(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Split unformatted text by the same rules as :func:`split_formatted`."""
    return [part.text for part in split_formatted(text, (), limit)]


def split_formatted(
    text: str,
    entities: Sequence[MessageEntity] = (),
    limit: int = MAX_MESSAGE_UTF16,
) -> list[RenderedPart]:
    """Split ``text`` into parts of at most ``limit`` UTF-16 units, clipping ``entities``.

    Returns no part for empty or whitespace-only text. Every returned entity has
    ``offset >= 0``, ``length > 0`` and ends within its part.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 UTF-16 units, got {limit}")
    text = normalize_text(text)
    offsets = _utf16_offsets(text)
    code_blocks = [
        (entity.offset, entity.offset + entity.length)
        for entity in entities
        if entity.type == MessageEntityType.PRE
    ]
    spans = _Cutter(text, offsets, code_blocks, limit).spans()
    return [
        RenderedPart(text[start:end], _clip(entities, offsets[start], offsets[end]))
        for start, end in spans
    ]


class _Cutter:
    """Chooses the Python-index spans of the parts; see the module docstring."""

    def __init__(
        self, text: str, offsets: list[int], code_blocks: list[tuple[int, int]], limit: int
    ) -> None:
        self._text = text
        self._offsets = offsets
        self._code_blocks = code_blocks
        self._limit = limit
        runs = [match.span() for match in _WHITESPACE.finditer(text)]
        self._run_starts = [start for start, _ in runs]
        self._run_ends = [end for _, end in runs]

    def spans(self) -> list[tuple[int, int]]:
        text, offsets = self._text, self._offsets
        end = len(text.rstrip())
        # The start of the text counts as a line start: leading blank lines go, indentation stays.
        pos = text.rfind("\n", 0, len(text) - len(text.lstrip())) + 1
        spans: list[tuple[int, int]] = []
        while pos < end:
            if offsets[end] - offsets[pos] <= self._limit:
                spans.append((pos, end))
                break
            window = bisect.bisect_right(offsets, offsets[pos] + self._limit) - 1
            run = self._best_run(pos, window)
            if run is None:
                part_end = next_pos = _hard_cut(text, pos, window)
            else:
                part_end, next_pos = self._run_starts[run], self._resume(run)
            # Only a hard cut through very long indentation can give a blank part;
            # it then belongs to the gap.
            if not text[pos:part_end].isspace():
                spans.append((pos, part_end))
            pos = next_pos
        return spans

    def _best_run(self, pos: int, window: int) -> int | None:
        """The last paragraph break starting in (pos, window], else line break, else space."""
        line: int | None = None
        word: int | None = None
        run = bisect.bisect_right(self._run_starts, window) - 1
        while run >= 0 and self._run_starts[run] > pos:
            newlines = self._text.count("\n", self._run_starts[run], self._run_ends[run])
            if newlines >= 2 and not self._in_code_block(run):
                return run
            if newlines and line is None:
                line = run
            if word is None:
                word = run
            run -= 1
        return word if line is None else line

    def _resume(self, run: int) -> int:
        """Where the next part starts after a cut in ``run``: indentation stays with it."""
        start, end = self._run_starts[run], self._run_ends[run]
        last_newline = self._text.rfind("\n", start, end)
        return end if last_newline < 0 else last_newline + 1

    def _in_code_block(self, run: int) -> bool:
        start = self._offsets[self._run_starts[run]]
        end = self._offsets[self._run_ends[run]]
        return any(lo < start and end < hi for lo, hi in self._code_blocks)


def _utf16_offsets(text: str) -> list[int]:
    """``offsets[i]`` is the UTF-16 offset of ``text[i]``; the last entry is the length."""
    if text.isascii():
        return list(range(len(text) + 1))
    return list(accumulate((2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0))


def _hard_cut(text: str, pos: int, window: int) -> int:
    """Cut at ``window``, moved back a little so as not to split a grapheme cluster."""
    cut = window
    while cut > pos + 1 and window - cut < _MAX_BACKOFF and _joined(text, cut):
        cut -= 1
    return window if _joined(text, cut) else cut


def _joined(text: str, index: int) -> bool:
    """Whether the characters on both sides of ``index`` belong to one grapheme cluster."""
    before, after = text[index - 1], text[index]
    if _ZWJ in (before, after) or (before, after) == ("\r", "\n"):
        return True
    code = ord(after)
    if (
        0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag sequences (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or unicodedata.category(after).startswith("M")
    ):
        return True
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        # Flags are pairs of regional indicators: count those before to find the pairing.
        count = 0
        while index - count - 1 >= 0 and _is_regional_indicator(text[index - count - 1]):
            count += 1
        return count % 2 == 1
    return False


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _clip(entities: Sequence[MessageEntity], start: int, end: int) -> tuple[MessageEntity, ...]:
    """Entities restricted to UTF-16 range [start, end), re-based to ``start``."""
    clipped: list[MessageEntity] = []
    for entity in entities:
        lo = max(entity.offset, start)
        hi = min(entity.offset + entity.length, end)
        if hi <= lo:
            continue
        if (lo - start, hi - lo) == (entity.offset, entity.length):
            clipped.append(entity)
            continue
        clipped.append(
            MessageEntity(
                type=entity.type,
                offset=lo - start,
                length=hi - lo,
                url=entity.url,
                user=entity.user,
                language=entity.language,
                custom_emoji_id=entity.custom_emoji_id,
                date_time_format=entity.date_time_format,
                unix_time=entity.unix_time,
            )
        )
    return tuple(clipped)
