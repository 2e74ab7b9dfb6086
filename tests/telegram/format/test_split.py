"""Cutting text and entities into parts that fit in one Telegram message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import MessageEntity
from telegram.constants import MessageEntityType

from bot.telegram.format.split import (
    MAX_MESSAGE_UTF16,
    RenderedPart,
    normalize_text,
    plain_parts,
    split_formatted,
    utf16_len,
)
from tests.support.parts import FAMILY, UNICODE, U, assert_valid_parts, part_starts


class TestUtf16Len:
    """UTF-16 length is what Telegram counts."""

    def test_ascii(self) -> None:
        """ASCII counts one unit per character."""
        assert utf16_len("hello") == 5

    def test_bmp(self) -> None:
        """Arabic, Hebrew and accented letters count one unit each."""
        assert utf16_len("مرحبا שלום é") == 12

    def test_non_bmp(self) -> None:
        """Characters outside the BMP count two units."""
        assert utf16_len(U + "🎉") == 4

    def test_zwj_sequence(self) -> None:
        """A ZWJ family emoji counts each member and joiner."""
        assert utf16_len(FAMILY) == 8

    def test_empty(self) -> None:
        """The empty string has length zero."""
        assert utf16_len("") == 0


class TestNormalizeText:
    """Surrogates are made safe without moving any UTF-16 offset."""

    def test_joins_pairs(self) -> None:
        """A surrogate pair stored as two code points becomes one character."""
        assert normalize_text("a\ud83d\ude00b") == "a😀b"

    def test_replaces_lone_surrogates(self) -> None:
        """A lone surrogate becomes U+FFFD."""
        assert normalize_text("x\ud800y\udfff") == "x\ufffdy\ufffd"

    def test_keeps_utf16_length(self) -> None:
        """Normalising never changes the UTF-16 length."""
        raw = "\ud83d\ude00 \ud800 🎉"
        assert utf16_len(normalize_text(raw)) == utf16_len(raw)

    def test_valid_text_unchanged(self) -> None:
        """Text without surrogates comes back as is."""
        text = f"{UNICODE} {FAMILY} مرحبا"
        assert normalize_text(text) is text


class TestPlainParts:
    """Plain text splits at the most natural place that fits."""

    def test_short_text_is_one_part(self) -> None:
        """Text within the limit is a single part."""
        assert plain_parts("hello world") == ["hello world"]

    def test_blank_text_gives_no_part(self) -> None:
        """Empty or whitespace-only text gives nothing to send."""
        assert plain_parts("") == []
        assert plain_parts(" \n\t ") == []

    def test_outer_whitespace_is_dropped(self) -> None:
        """Leading blank lines and trailing whitespace go; first-line indentation stays."""
        assert plain_parts("\n\n hi \n") == [" hi"]
        assert plain_parts("    x = 1\n") == ["    x = 1"]

    def test_default_limit_is_telegrams(self) -> None:
        """By default a part holds up to 4096 UTF-16 units."""
        parts = plain_parts("a" * 4096 + " " + "b" * 10)
        assert parts == ["a" * 4096, "b" * 10]
        assert MAX_MESSAGE_UTF16 == 4096

    def test_prefers_paragraph_break(self) -> None:
        """A paragraph break wins over a later line break."""
        text = "one two\n\nthree four\nfive"
        assert plain_parts(text, 22) == ["one two", "three four\nfive"]

    def test_then_line_break(self) -> None:
        """Without a paragraph break, the last line break that fits is used."""
        assert plain_parts("aaa bbb\nccc ddd eee", 15) == ["aaa bbb", "ccc ddd eee"]

    def test_then_word_break(self) -> None:
        """Without line breaks, the cut goes between words."""
        assert plain_parts("alpha beta gamma delta", 12) == ["alpha beta", "gamma delta"]

    def test_hard_cut_last(self) -> None:
        """A word longer than the limit is cut without dropping anything."""
        assert plain_parts("abcdefghij", 4) == ["abcd", "efgh", "ij"]

    def test_never_cuts_surrogate_pair(self) -> None:
        """An odd limit over non-BMP characters leaves every character whole."""
        parts = plain_parts(U * 7, 5)
        assert parts == [U * 2, U * 2, U * 2, U]

    def test_keeps_zwj_sequence_whole(self) -> None:
        """A hard cut moves back rather than splitting a ZWJ emoji."""
        parts = plain_parts("abc" + FAMILY, 10)
        assert parts == ["abc", FAMILY]

    def test_keeps_flag_whole(self) -> None:
        """A hard cut does not separate the two halves of a flag."""
        parts = plain_parts("a🇺🇦🇬🇧", 4)
        assert parts == ["a", "🇺🇦", "🇬🇧"]

    def test_keeps_indentation(self) -> None:
        """Indentation after the cut line break stays with the next part."""
        assert plain_parts("def f():\n    return 1", 12) == ["def f():", "    return 1"]

    def test_rejects_tiny_limit(self) -> None:
        """A limit below one non-BMP character is refused."""
        with pytest.raises(ValueError, match="at least 2"):
            plain_parts("abc", 1)


class TestSplitFormatted:
    """Entities follow the text into every part they touch."""

    def test_entity_clipped_into_both_parts(self) -> None:
        """Bold across a cut is bold on both sides, re-based to each part."""
        bold = MessageEntity(MessageEntityType.BOLD, 4, 7)
        parts = split_formatted("aaa bbb ccc ddd", [bold], 8)
        assert [part.text for part in parts] == ["aaa bbb", "ccc ddd"]
        assert parts[0].entities == (MessageEntity(MessageEntityType.BOLD, 4, 3),)
        assert parts[1].entities == (MessageEntity(MessageEntityType.BOLD, 0, 3),)

    def test_code_block_reopened_with_language(self) -> None:
        """A split code block is a pre entity with its language in each part."""
        text = "x = 1\ny = 2\nz = 3"
        pre = MessageEntity(MessageEntityType.PRE, 0, len(text), language="python")
        parts = split_formatted(text, [pre], 12)
        assert [part.text for part in parts] == ["x = 1\ny = 2", "z = 3"]
        for part in parts:
            (entity,) = part.entities
            assert entity.type == MessageEntityType.PRE
            assert entity.language == "python"
            assert (entity.offset, entity.length) == (0, len(part.text))

    def test_paragraph_outside_code_preferred(self) -> None:
        """A paragraph break outside a code block beats one inside it."""
        text = "intro\n\ncode 1\n\ncode 2"
        pre = MessageEntity(MessageEntityType.PRE, 7, 14, language="sh")
        parts = split_formatted(text, [pre], 17)
        assert [part.text for part in parts] == ["intro", "code 1\n\ncode 2"]
        assert parts[1].entities == (MessageEntity(MessageEntityType.PRE, 0, 14, language="sh"),)

    def test_link_keeps_url(self) -> None:
        """A clipped text_link keeps its URL."""
        link = MessageEntity(MessageEntityType.TEXT_LINK, 0, 11, url="https://x.y")
        parts = split_formatted("hello world", [link], 6)
        assert [entity.url for part in parts for entity in part.entities] == ["https://x.y"] * 2

    def test_entities_in_utf16_units(self) -> None:
        """Offsets are re-based in UTF-16 units after non-BMP characters."""
        text = "🎉🎉 aa\n🎉 bb"
        bold = MessageEntity(MessageEntityType.BOLD, 11, 2)
        parts = split_formatted(text, [bold], 8)
        assert [part.text for part in parts] == ["🎉🎉 aa", "🎉 bb"]
        assert parts[1].entities == (MessageEntity(MessageEntityType.BOLD, 3, 2),)

    def test_entity_in_gap_is_dropped(self) -> None:
        """An entity covering only the whitespace at a cut appears in no part."""
        italic = MessageEntity(MessageEntityType.ITALIC, 3, 1)
        parts = split_formatted("aaa bbb", [italic], 4)
        assert all(part.entities == () for part in parts)

    def test_out_of_range_entity_is_clipped(self) -> None:
        """An entity reaching past the text is cut back to it."""
        bold = MessageEntity(MessageEntityType.BOLD, 2, 50)
        (part,) = split_formatted("abcd", [bold])
        assert part.entities == (MessageEntity(MessageEntityType.BOLD, 2, 2),)


SPACES = [" ", "  ", "\n", "\n\n", "\n    ", "\t", "\u00a0"]
WORDS = ["word", "x" * 150, "🎉", FAMILY, UNICODE, "🇺🇦", "مرحبا", "שלום", "e\u0301"]
TEXT_PIECES = st.sampled_from([*SPACES, *WORDS])
TEXTS = st.lists(st.one_of(TEXT_PIECES, st.text(max_size=12)), max_size=40).map("".join)


class TestSplitProperties:
    """Any text, any limit: parts fit and nothing visible is lost."""

    @settings(max_examples=200, deadline=None)
    @given(text=TEXTS, limit=st.integers(min_value=2, max_value=300))
    def test_plain_parts_fit_and_lose_nothing(self, text: str, limit: int) -> None:
        """Parts fit the limit, are not blank, and only whitespace is dropped."""
        parts = plain_parts(text, limit)
        assert_valid_parts([RenderedPart(part) for part in parts], limit)
        part_starts(text, parts)

    @settings(max_examples=200, deadline=None)
    @given(
        text=TEXTS,
        limit=st.integers(min_value=2, max_value=300),
        spans=st.lists(st.tuples(st.integers(-5, 600), st.integers(1, 600)), max_size=6),
    )
    def test_entities_clipped_exactly(
        self, text: str, limit: int, spans: list[tuple[int, int]]
    ) -> None:
        """Each entity reappears in each part exactly where it overlaps that part."""
        entities = [MessageEntity(MessageEntityType.PRE, o, n, language="c") for o, n in spans]
        parts = split_formatted(text, entities, limit)
        assert_valid_parts(parts, limit)
        starts = part_starts(text, [part.text for part in parts])
        for part, start in zip(parts, starts, strict=True):
            lo, hi = utf16_len(text[:start]), utf16_len(text[:start]) + utf16_len(part.text)
            expected = [
                (max(e.offset, lo) - lo, min(e.offset + e.length, hi) - max(e.offset, lo))
                for e in entities
                if min(e.offset + e.length, hi) > max(e.offset, lo)
            ]
            assert [(e.offset, e.length) for e in part.entities] == expected
