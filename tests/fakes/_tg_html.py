"""A strict parser for Telegram's parse_mode=HTML.

Checked: only Telegram's tags (b strong i em u ins s strike del span.tg-spoiler tg-spoiler a code
pre blockquote[expandable] tg-emoji[emoji-id]), properly nested and closed, no tags inside code or
pre except <pre><code class="language-x">, no nested blockquotes, and every & starting one of the
entities &lt; &gt; &amp; &quot; or a numeric one. A bare < or & is an error; a bare > is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.fakes._tg_models import cant_parse
from tests.fakes._tg_textbuf import Entities, TextBuilder, byte_offset

_TAG_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
    "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATTR_RE = re.compile(
    r"\s+([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)


@dataclass
class _Open:
    name: str
    start: int
    attrs: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)


def _unescape(text: str, at: int) -> str:
    """Decode the entities in text (an attribute value), strictly."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "&":
            decoded, i = _entity(text, i, at)
            out.append(decoded)
        elif text[i] == "<":
            raise cant_parse(f"Character '<' must be escaped in an attribute at byte offset {at}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _entity(text: str, i: int, at: int) -> tuple[str, int]:
    """Decode the HTML entity at text[i] ('&'); return it and the index after it."""
    match = _ENTITY_RE.match(text, i)
    if match is None:
        raise cant_parse(
            f"Character '&' at byte offset {at} must be escaped as &amp; "
            "(it does not start an HTML entity)"
        )
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED:
            raise cant_parse(f'Unsupported HTML entity "&{name};" at byte offset {at}')
        return _NAMED[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise cant_parse(f"Invalid numeric HTML entity at byte offset {at}")
    return chr(code), match.end()


def _attributes(raw: str, name: str, at: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    for match in _ATTR_RE.finditer(raw):
        if match.start() != pos:
            break
        value = next((g for g in match.groups()[1:] if g is not None), "")
        attrs[match.group(1).lower()] = _unescape(value, at)
        pos = match.end()
    if raw[pos:].strip() not in ("", "/"):
        raise cant_parse(f'Bad attributes of tag "{name}" at byte offset {at}')
    return attrs


class _HtmlParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out = TextBuilder()
        self.stack: list[_Open] = []

    def run(self) -> tuple[str, Entities]:
        text, i = self.text, 0
        while i < len(text):
            char = text[i]
            if char == "<":
                i = self._tag(i)
            elif char == "&":
                decoded, i = _entity(text, i, byte_offset(text, i))
                self.out.add(decoded)
            else:
                found = [j for j in (text.find("<", i), text.find("&", i)) if j >= 0]
                stop = min(found, default=len(text))
                self.out.add(text[i:stop])
                i = stop
        if self.stack:
            name = self.stack[-1].name
            raise cant_parse(f'Can\'t find end tag corresponding to start tag "{name}"')
        return self.out.result()

    def _tag(self, i: int) -> int:
        at = byte_offset(self.text, i)
        match = _TAG_RE.match(self.text, i)
        if match is None:
            raise cant_parse(
                f"Unclosed start tag at byte offset {at} (a bare '<' must be escaped as &lt;)"
            )
        closing, name, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if raw_attrs.strip():
                raise cant_parse(f'End tag "{name}" can\'t have attributes at byte offset {at}')
            self._close(name, at)
        else:
            self._open(name, _attributes(raw_attrs, name, at), at)
        return match.end()

    def _open(self, name: str, attrs: dict[str, str], at: int) -> None:
        if name not in _TAG_TYPES:
            raise cant_parse(f'Unsupported start tag "{name}" at byte offset {at}')
        top = self.stack[-1] if self.stack else None
        language_code = top is not None and top.name == "pre" and name == "code"
        if top is not None and top.name in ("code", "pre") and not language_code:
            raise cant_parse(f'Tag "{name}" can\'t be used in "{top.name}" at byte offset {at}')
        if name == "blockquote" and any(o.name == "blockquote" for o in self.stack):
            raise cant_parse(f"Blockquotes can't be nested at byte offset {at}")
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise cant_parse(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise cant_parse(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
        self.stack.append(_Open(name, self.out.pos, attrs))

    def _close(self, name: str, at: int) -> None:
        if not self.stack:
            raise cant_parse(f'Unexpected end tag "{name}" at byte offset {at}')
        top = self.stack.pop()
        if top.name != name:
            raise cant_parse(
                f'Unmatched end tag at byte offset {at}, expected "</{top.name}>", '
                f'found "</{name}>"'
            )
        self._emit(top)

    def _emit(self, tag: _Open) -> None:
        kind, out = _TAG_TYPES[tag.name], self.out
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                parent.extra["language"] = language.removeprefix("language-")
            return
        if tag.name == "a":
            if "href" in tag.attrs:
                out.entity(kind, tag.start, {"url": tag.attrs["href"]})
        elif tag.name == "tg-emoji":
            out.entity(kind, tag.start, {"custom_emoji_id": tag.attrs["emoji-id"]})
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            out.entity("expandable_blockquote", tag.start)
        else:
            out.entity(kind, tag.start, tag.extra)


def parse_html(text: str) -> tuple[str, Entities]:
    """Parse Telegram HTML into plain text and entities; raise a 400 ApiError when invalid."""
    return _HtmlParser(text).run()
