r"""Strict parsers for parse_mode=MarkdownV2 and the legacy parse_mode=Markdown.

MarkdownV2 as Telegram documents it: *bold* _italic_ __underline__ ~strike~ ||spoiler||
[text](url) ![emoji](tg://emoji?id=N) `code` ```lang\npre``` and >quote lines (**> starts an
expandable quote; || at the end of a quote line is its mark). Checked: every one of
_*[]()~`>#+-=|{}.! that is not part of such markup must be escaped with a backslash, and a
backslash may only escape an ASCII character; inside code and pre an unescaped ` ends the entity
(in pre a lone ` is an error); inside the (...) of a link an unescaped ) ends the URL; markers must
be closed and properly nested; a quote must not end while an entity opened inside it is open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.fakes._tg_models import ApiError, cant_parse
from tests.fakes._tg_textbuf import Entities, TextBuilder, byte_offset

_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_SPECIAL = _RESERVED | {"\\", "\n"}
_MARKERS = (
    ("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"),
)  # fmt: skip
_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "text_link": "TextUrl", "custom_emoji": "CustomEmoji", "code": "Code",
    "pre": "Pre", "blockquote": "BlockQuote", "expandable_blockquote": "ExpandableBlockQuote",
}  # fmt: skip
_LANGUAGE_RE = re.compile(r"[^\s`\\]+")
_EMOJI_URL_RE = re.compile(r"tg://emoji\?id=(\d+)")
_LEGACY_LINK_RE = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


@dataclass
class _Open:
    kind: str
    start: int  # UTF-16 offset in the output
    at: int  # byte offset of the marker in the input


def _unclosed(entity: _Open) -> ApiError:
    return cant_parse(f"Can't find end of {_NAMES[entity.kind]} entity at byte offset {entity.at}")


def _reserved(char: str) -> ApiError:
    return cant_parse(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _split_language(raw: str) -> tuple[str, dict[str, Any]]:
    """Split ```lang\\n off a pre block's raw content."""
    first, newline, rest = raw.partition("\n")
    if newline and _LANGUAGE_RE.fullmatch(first):
        return rest, {"language": first}
    if newline and not first:
        return rest, {}
    return raw, {}


class _MarkdownV2:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.out = TextBuilder()
        self.stack: list[_Open] = []
        self.quote: _Open | None = None
        self.last_newline = 0

    def run(self) -> tuple[str, Entities]:
        text = self.text
        while self.i < len(text):
            if self.i == 0 or text[self.i - 1] == "\n":
                self._line_start()
                if self.i >= len(text):
                    break
            self._step()
        self._end_quote(self.out.pos)
        if self.stack:
            raise _unclosed(self.stack[-1])
        return self.out.result()

    def _line_start(self) -> None:
        text, i = self.text, self.i
        expandable = text.startswith("**>", i)
        if expandable or text.startswith(">", i):
            if self.quote is None:
                kind = "expandable_blockquote" if expandable else "blockquote"
                self.quote = _Open(kind, self.out.pos, byte_offset(text, i))
            self.i += 3 if expandable else 1
        elif self.quote is not None:
            self._end_quote(self.last_newline)

    def _end_quote(self, end: int) -> None:
        quote = self.quote
        if quote is None:
            return
        inside = [o for o in self.stack if o.at > quote.at]
        if inside:
            raise _unclosed(inside[-1])
        self.out.entity(quote.kind, quote.start, end=end)
        self.quote = None

    def _step(self) -> None:  # noqa: PLR0911 - one branch per kind of token reads best
        text, i = self.text, self.i
        char = text[i]
        if char == "\\":
            return self._escape()
        if char == "\n":
            self.last_newline = self.out.pos
            self.out.add("\n")
            self.i += 1
            return None
        if char == "`":
            return self._code()
        if text.startswith("||", i) and self._ends_quote_line(i):
            self.i += 2
            return None
        for token, kind in _MARKERS:
            if text.startswith(token, i):
                return self._toggle(kind, len(token))
        if char == "[" or text.startswith("![", i):
            kind = "text_link" if char == "[" else "custom_emoji"
            self.stack.append(_Open(kind, self.out.pos, byte_offset(text, i)))
            self.i += 1 if char == "[" else 2
            return None
        if char == "]":
            return self._link_end()
        if char in _RESERVED:
            raise _reserved(char)
        stop = i
        while stop < len(text) and text[stop] not in _SPECIAL:
            stop += 1
        self.out.add(text[i:stop])
        self.i = stop
        return None

    def _ends_quote_line(self, i: int) -> bool:
        spoiler_open = bool(self.stack) and self.stack[-1].kind == "spoiler"
        at_line_end = i + 2 == len(self.text) or self.text[i + 2] == "\n"
        return self.quote is not None and not spoiler_open and at_line_end

    def _escape(self) -> None:
        following = self.text[self.i + 1 : self.i + 2]
        if not following or not 1 <= ord(following) <= 126:
            at = byte_offset(self.text, self.i)
            raise cant_parse(f"Character '\\' at byte offset {at} must escape an ASCII character")
        self.out.add(following)
        self.i += 2

    def _toggle(self, kind: str, size: int) -> None:
        opened = [index for index, o in enumerate(self.stack) if o.kind == kind]
        if not opened:
            self.stack.append(_Open(kind, self.out.pos, byte_offset(self.text, self.i)))
        elif opened[-1] != len(self.stack) - 1:
            raise _unclosed(self.stack[-1])
        else:
            self.out.entity(kind, self.stack.pop().start)
        self.i += size

    def _code(self) -> None:
        text, i = self.text, self.i
        fence = "```" if text.startswith("```", i) else "`"
        kind = "pre" if fence == "```" else "code"
        j = i + len(fence)
        while j < len(text) and not text.startswith(fence, j):
            if text[j] == "`":
                at = byte_offset(text, j)
                raise cant_parse(f"Character '`' at byte offset {at} must be escaped in {kind}")
            j += 2 if text[j] == "\\" else 1
        if j >= len(text):
            raise _unclosed(_Open(kind, 0, byte_offset(text, i)))
        raw, extra = text[i + len(fence) : j], dict[str, Any]()
        if kind == "pre":
            raw, extra = _split_language(raw)
        start = self.out.pos
        self.out.add(re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL))
        self.out.entity(kind, start, extra)
        self.i = j + len(fence)

    def _link_end(self) -> None:
        text, i = self.text, self.i
        top = self.stack[-1] if self.stack else None
        if top is None or top.kind not in ("text_link", "custom_emoji"):
            if any(o.kind in ("text_link", "custom_emoji") for o in self.stack) and top:
                raise _unclosed(top)
            raise _reserved("]")
        if text[i + 1 : i + 2] != "(":
            name = _NAMES[top.kind]
            raise cant_parse(f"Can't find URL of the {name} entity at byte offset {top.at}")
        url, j = [], i + 2
        while j < len(text) and text[j] != ")":
            url.append(text[j + 1] if text[j] == "\\" and j + 1 < len(text) else text[j])
            j += 2 if text[j] == "\\" else 1
        if j >= len(text):
            raise cant_parse(f"Can't find end of a URL at byte offset {byte_offset(text, i + 1)}")
        self.stack.pop()
        target = "".join(url)
        if top.kind == "custom_emoji":
            match = _EMOJI_URL_RE.fullmatch(target)
            if match is None:
                raise cant_parse(f"Custom emoji at byte offset {top.at} needs a tg://emoji?id= URL")
            self.out.entity("custom_emoji", top.start, {"custom_emoji_id": match.group(1)})
        else:
            self.out.entity("text_link", top.start, {"url": target})
        self.i = j + 1


def parse_markdown_v2(text: str) -> tuple[str, Entities]:
    """Parse MarkdownV2 into plain text and entities; raise a 400 ApiError when invalid."""
    return _MarkdownV2(text).run()


def _legacy_unclosed(text: str, i: int) -> ApiError:
    at = byte_offset(text, i)
    return cant_parse(f"Can't find end of the entity starting at byte offset {at}")


def parse_markdown(text: str) -> tuple[str, Entities]:
    """Parse legacy Markdown (*bold* _italic_ `code` ```pre``` [text](url)), unnested."""
    out, i = TextBuilder(), 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(text[i + 1])
            i += 2
        elif char in "*_`[":
            fence = "```" if text.startswith("```", i) else char
            if fence == "[":
                match = _LEGACY_LINK_RE.match(text, i)
                if match is None:
                    raise _legacy_unclosed(text, i)
                start, end = out.pos, match.end()
                out.add(match.group(1))
                out.entity("text_link", start, {"url": match.group(2)})
            else:
                close = text.find(fence, i + len(fence))
                if close < 0:
                    raise _legacy_unclosed(text, i)
                raw, extra = text[i + len(fence) : close], dict[str, Any]()
                if fence == "```":
                    raw, extra = _split_language(raw)
                start, end = out.pos, close + len(fence)
                out.add(raw)
                kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[fence]
                out.entity(kind, start, extra)
            i = end
        else:
            stop = i + 1
            while stop < len(text) and text[stop] not in "\\*_`[":
                stop += 1
            out.add(text[i:stop])
            i = stop
    return out.result()
