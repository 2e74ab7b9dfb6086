"""Rendering a model's Markdown into Telegram text + entities, split into parts."""

from __future__ import annotations

import pytest
import telegramify_markdown
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import MessageEntity
from telegram.constants import MessageEntityType as Kind

from bot.telegram.format.render import (
    FormattedText,
    RenderedPart,
    convert_markdown,
    render,
    utf16_len,
)
from tests.support.parts import FAMILY, UNICODE, U, assert_valid_parts, part_starts


def single(markdown: str) -> RenderedPart:
    """The only part ``markdown`` renders to, checked for valid entities."""
    parts = render(markdown)
    assert_valid_parts(parts, 4096)
    (part,) = parts
    return part


def kinds(part: RenderedPart) -> set[str]:
    return {entity.type for entity in part.entities}


def covered(part: RenderedPart, kind: str) -> list[str]:
    """The text under each entity of ``kind``, sliced in UTF-16 units."""
    raw = part.text.encode("utf-16-le")
    return [
        raw[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")
        for e in part.entities
        if e.type == kind
    ]


def assert_lossless_render(document: FormattedText, parts: list[RenderedPart]) -> None:
    """Parts lose only whitespace, and every piece of a code block is a pre in its part."""
    starts = part_starts(document.text, [part.text for part in parts])
    for part, start in zip(parts, starts, strict=True):
        lo = utf16_len(document.text[:start])
        hi = lo + utf16_len(part.text)
        pres = {(e.offset, e.length, e.language) for e in part.entities if e.type == Kind.PRE}
        for entity in document.entities:
            first, last = max(entity.offset, lo), min(entity.offset + entity.length, hi)
            if entity.type == Kind.PRE and last > first:
                assert (first - lo, last - first, entity.language) in pres


class TestFormattingKinds:
    """Each kind of Markdown formatting becomes the matching entity."""

    @pytest.mark.parametrize(
        ("markdown", "kind", "text"),
        [
            ("a **bold** b", Kind.BOLD, "bold"),
            ("a *italic* b", Kind.ITALIC, "italic"),
            ("a _italic_ b", Kind.ITALIC, "italic"),
            ("a ~~gone~~ b", Kind.STRIKETHROUGH, "gone"),
            ("a `x = 1` b", Kind.CODE, "x = 1"),
            ("a ||secret|| b", Kind.SPOILER, "secret"),
        ],
    )
    def test_inline(self, markdown: str, kind: str, text: str) -> None:
        """Inline markers vanish and an entity covers exactly the marked words."""
        part = single(markdown)
        assert part.text == f"a {text} b"
        assert covered(part, kind) == [text]

    def test_fenced_code_has_language(self) -> None:
        """A fenced python block is a pre entity with language "python"."""
        part = single("Look:\n\n```python\ndef f():\n    return 1\n```\n\nDone.")
        assert part.text == "Look:\n\ndef f():\n    return 1\n\nDone."
        (pre,) = [e for e in part.entities if e.type == Kind.PRE]
        assert pre.language == "python"
        assert covered(part, Kind.PRE) == ["def f():\n    return 1"]

    def test_fence_info_keeps_first_word(self) -> None:
        """Extra words in the fence info string are not sent as the language."""
        (pre,) = single("```python title=a.py\nx\n```").entities
        assert pre.language == "python"

    def test_code_first_keeps_indentation(self) -> None:
        """An answer opening with indented code keeps the indentation."""
        part = single("```js\n  indented();\n```")
        assert part.text == "  indented();"
        assert covered(part, Kind.PRE) == ["  indented();"]

    def test_fence_without_language(self) -> None:
        """A bare fence is a pre entity without a language."""
        (pre,) = single("```\nls -l\n```").entities
        assert (pre.type, pre.language) == (Kind.PRE, None)

    def test_link_with_parentheses(self) -> None:
        """A URL with parentheses survives whole in a text_link."""
        part = single("See [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) now")
        (link,) = part.entities
        assert link.type == Kind.TEXT_LINK
        assert link.url == "https://en.wikipedia.org/wiki/Foo_(bar)"
        assert covered(part, Kind.TEXT_LINK) == ["Foo"]

    @pytest.mark.parametrize(
        "markdown", ["[up](../README.md)", "[top](#intro)", "x[^1]\n\n[^1]: n"]
    )
    def test_unopenable_links_stay_plain(self, markdown: str) -> None:
        """Links Telegram could not open keep their text but lose the entity."""
        assert kinds(single(markdown)) == set()

    def test_lists(self) -> None:
        """Bullets and numbers become plain-text markers, one item per line."""
        part = single("- apple\n- pear\n  - nested\n\n1. one\n2. two")
        lines = part.text.splitlines()
        assert [line.strip().split(" ", 1)[-1] for line in lines if line.strip()] == [
            "apple",
            "pear",
            "nested",
            "one",
            "two",
        ]
        assert lines[-1] == "2. two"

    def test_heading_is_bold(self) -> None:
        """A heading shows as bold text without the '#' marks."""
        part = single("## Setup\n\nRun it.")
        assert part.text == "Setup\n\nRun it."
        assert covered(part, Kind.BOLD) == ["Setup"]

    def test_block_quote(self) -> None:
        """A block quote is a blockquote entity over the quoted lines."""
        part = single("> first\n> second\n\nafter")
        assert covered(part, Kind.BLOCKQUOTE) == ["first\nsecond"]

    def test_long_quote_is_expandable(self) -> None:
        """A long block quote collapses into an expandable one."""
        part = single("> " + "word " * 60)
        assert kinds(part) == {Kind.EXPANDABLE_BLOCKQUOTE}

    def test_table_is_monospace(self) -> None:
        """A table becomes aligned text in a pre entity."""
        part = single("| name | n |\n|---|---|\n| apple | 10 |")
        assert covered(part, Kind.PRE) == ["name  | n \n------+---\napple | 10"]

    def test_nested_formatting(self) -> None:
        """Nested markers give overlapping entities over the right words."""
        part = single("**bold _both_ ~~all~~**")
        assert part.text == "bold both all"
        assert covered(part, Kind.BOLD) == ["bold both all"]
        assert covered(part, Kind.ITALIC) == ["both"]
        assert covered(part, Kind.STRIKETHROUGH) == ["all"]

    def test_entities_sorted(self) -> None:
        """Entities come ordered by offset, outer before inner."""
        part = single("x **a _b_** `c`")
        assert [e.offset for e in part.entities] == sorted(e.offset for e in part.entities)
        assert part.entities[0].type == Kind.BOLD


class TestUnicode:
    """Offsets are right whatever the script."""

    def test_non_bmp_and_emoji(self) -> None:
        """Entities after non-BMP characters and ZWJ emoji land on the right text."""
        part = single(f"{UNICODE} 🎉{FAMILY} **bold 🎉** `{U}`")
        assert part.text == f"{UNICODE} 🎉{FAMILY} bold 🎉 {U}"
        assert covered(part, Kind.BOLD) == ["bold 🎉"]
        assert covered(part, Kind.CODE) == [U]

    @pytest.mark.parametrize(
        ("markdown", "bold"),
        [("مرحبا **بالعالم** اليوم", "بالعالم"), ("שלום **עולם** היום", "עולם")],
    )
    def test_rtl(self, markdown: str, bold: str) -> None:
        """Arabic and Hebrew keep their text and bold span."""
        assert covered(single(markdown), Kind.BOLD) == [bold]

    def test_lone_surrogate(self) -> None:
        """A lone surrogate is replaced rather than breaking the conversion."""
        document = convert_markdown("**a**\ud800")
        assert (document.text, document.fallback) == ("a\ufffd", False)


class TestPartialAnswers:
    """Any prefix of an answer renders, as it does while streaming."""

    @pytest.mark.parametrize(
        "markdown",
        ["**unclosed bold", "_half", "a [link", "[text](http://exa", "`tick", "|a|", ""],
    )
    def test_unbalanced_markers_stay_text(self, markdown: str) -> None:
        """Unbalanced markers render as literal text without entities."""
        parts = render(markdown)
        assert_valid_parts(parts, 4096)
        assert [part.text for part in parts] == ([markdown.strip()] if markdown.strip() else [])
        assert all(part.entities == () for part in parts)

    def test_unclosed_fence_is_code(self) -> None:
        """An unclosed fence mid-stream already shows as a python code block."""
        part = single("Here:\n\n```python\nfor i in range(3):\n    print(")
        assert covered(part, Kind.PRE) == ["for i in range(3):\n    print("]
        assert part.entities[-1].language == "python"

    def test_every_prefix_renders(self) -> None:
        """Every prefix of a formatted answer renders to valid parts."""
        answer = (
            "# Plan\n\n**Step 1**: run `ls` — see [docs](https://x.y/(z)).\n\n"
            f"```python\nprint('{U} 🎉')\n```\n\n> note _this_\n\n- a\n- ~~b~~\n"
        )
        for end in range(len(answer) + 1):
            assert_valid_parts(render(answer[:end], 64), 64)


class TestFallback:
    """A converter failure degrades to plain text instead of raising."""

    def test_converter_error_gives_plain_text(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If the converter raises, the Markdown is sent as is and flagged."""

        def broken(markdown: str, **kwargs: object) -> tuple[str, list[MessageEntity]]:
            raise RuntimeError("boom")

        monkeypatch.setattr(telegramify_markdown, "convert", broken)
        assert convert_markdown("**hi**") == FormattedText("**hi**", (), fallback=True)
        assert render("**hi** there", 6) == [RenderedPart("**hi**"), RenderedPart("there")]

    def test_normal_conversion_is_not_flagged(self) -> None:
        """A successful conversion reports no fallback."""
        assert not convert_markdown("**hi**").fallback


def code_block(number: int, lines: int) -> str:
    body = "\n".join(f"    value_{number}_{i} = compute({i})  # step {i}" for i in range(lines))
    return f"```python\ndef block_{number}():\n{body}\n```"


class TestLongAnswer:
    """A long answer splits into sendable parts without losing text."""

    def test_twelve_thousand_characters(self) -> None:
        """Parts fit 4096 units, lose only whitespace, and code keeps its pre entities."""
        paragraph = "Some explanation with **bold** and `code` 🎉. " * 8
        blocks = [code_block(1, 40), code_block(2, 160), code_block(3, 40)]
        markdown = "\n\n".join(
            [paragraph, blocks[0], paragraph, blocks[1], paragraph, blocks[2], paragraph * 4]
        )
        assert len(markdown) > 12_000
        document = convert_markdown(markdown)
        parts = render(markdown)
        assert len(parts) >= 3
        assert_valid_parts(parts, 4096)
        assert_lossless_render(document, parts)
        pre_parts = [p for p in parts if any(e.type == Kind.PRE for e in p.entities)]
        assert len(pre_parts) >= 3
        for part in pre_parts:
            assert {e.language for e in part.entities if e.type == Kind.PRE} == {"python"}


MARKERS = ["**", "*", "_", "__", "~~", "`", "```python\n", "```\n", "||", "$", "\\", "<b>"]
BLOCKS = ["\n", "\n\n", "    ", " ", "# ", "> ", "- ", "1. ", "| a | b |\n|---|---|\n| 1 | 2 |\n"]
LINKS = ["[a](http://x.y/(z))", "[", "](", "(http://x.y"]
WORDS = ["word", "two words", "🎉", FAMILY, UNICODE, "مرحبا", "שלום", "x" * 300, "long line " * 40]
FRAGMENTS = st.sampled_from([*MARKERS, *BLOCKS, *LINKS, *WORDS])
MARKDOWN = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)
LIMITS = st.one_of(st.integers(min_value=20, max_value=200), st.integers(200, 4096))


class TestRenderProperties:
    """Any Markdown-ish text renders to valid, lossless parts."""

    @settings(max_examples=200, deadline=None)
    @given(markdown=MARKDOWN, limit=LIMITS)
    def test_parts_valid_and_lossless(self, markdown: str, limit: int) -> None:
        """No part over the limit, entities in bounds, only whitespace dropped, pre kept."""
        document = convert_markdown(markdown)
        parts = render(markdown, limit)
        assert_valid_parts(parts, limit)
        assert_lossless_render(document, parts)
