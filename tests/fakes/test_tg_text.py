"""The fake's Telegram text rules: HTML, MarkdownV2, legacy Markdown, explicit entities."""

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


class TestHtml:
    def test_all_supported_tags(self) -> None:
        """Every Telegram tag maps to its entity; pre>code carries the language."""
        text, entities = parse_text(
            '<b>b</b><i>i</i><u>u</u><s>s</s><tg-spoiler>p</tg-spoiler><a href="http://x">a</a>'
            '<code>c</code><pre><code class="language-py">x</code></pre>'
            '<blockquote expandable>q</blockquote><tg-emoji emoji-id="5">e</tg-emoji>',
            "HTML",
            None,
        )
        assert text == "biuspacxqe"
        kinds = [e["type"] for e in entities]
        assert kinds == ["bold", "italic", "underline", "strikethrough", "spoiler", "text_link",
                         "code", "pre", "expandable_blockquote", "custom_emoji"]  # fmt: skip
        assert entities[7]["language"] == "py"

    def test_entities_are_decoded(self) -> None:
        """Named and numeric entities decode; a bare > is accepted."""
        assert parse_text("&lt;&gt;&amp;&quot;&#39;&#x1F600; >", "html", None)[0] == "<>&\"'😀 >"

    @pytest.mark.parametrize(
        ("markup", "reason"),
        [
            ("a < b", "Unclosed start tag"),
            ("a & b", "must be escaped"),
            ("&nbsp;", "Unsupported HTML entity"),
            ("<b>x", "Can't find end tag"),
            ("<b>x</i>", "Unmatched end tag"),
            ("x</b>", "Unexpected end tag"),
            ("<br>", 'Unsupported start tag "br"'),
            ('<span class="x">s</span>', "tg-spoiler"),
            ("<code><b>x</b></code>", "can't be used in"),
            ("<blockquote><blockquote>x</blockquote></blockquote>", "nested"),
        ],
    )
    def test_invalid_markup(self, markup: str, reason: str) -> None:
        """Each kind of broken HTML is a 400 naming the problem."""
        description = _error(markup, "HTML")
        assert description.startswith("Bad Request: can't parse entities: ")
        assert reason in description


class TestMarkdownV2:
    def test_documented_syntax(self) -> None:
        """Telegram's documented examples parse into the expected entities."""
        text, entities = parse_text(
            "*b* _i_ __u__ ~s~ ||p|| [l](http://e.com/\\)) `c\\`` ```py\nx```", "MarkdownV2", None
        )
        assert text == "b i u s p l c` x"
        assert [e["type"] for e in entities] == ["bold", "italic", "underline", "strikethrough",
                                                 "spoiler", "text_link", "code", "pre"]  # fmt: skip
        assert entities[5]["url"] == "http://e.com/)"

    def test_block_quotes(self) -> None:
        """> lines make one blockquote; **> ... || an expandable one."""
        _, plain = parse_text(">a\n>b\nc", "MarkdownV2", None)
        _, expandable = parse_text("**>a\n>b||", "MarkdownV2", None)
        assert plain == [{"type": "blockquote", "offset": 0, "length": 3}]
        assert expandable == [{"type": "expandable_blockquote", "offset": 0, "length": 3}]

    @pytest.mark.parametrize(
        ("markup", "reason"),
        [
            ("1.5", "Character '.' is reserved"),
            ("a-b", "Character '-' is reserved"),
            ("(x)", "Character '(' is reserved"),
            ("*bold", "Can't find end of Bold entity"),
            ("*a _b* c_", "Can't find end of Italic entity"),
            ("`code", "Can't find end of Code entity"),
            ("[text]", "Can't find URL"),
            ("```a ` b```", "must be escaped in pre"),
        ],
    )
    def test_invalid_markup(self, markup: str, reason: str) -> None:
        """Unescaped reserved characters and unbalanced markers are 400s."""
        assert reason in _error(markup, "MarkdownV2")


class TestChecks:
    def test_length_counts_utf16_after_parsing(self) -> None:
        """4096 UTF-16 units pass, one more fails; markup does not count."""
        assert parse_checked("<b>" + "😀" * 2048 + "</b>", "HTML", None, limit=4096)
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
