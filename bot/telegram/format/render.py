"""A model's Markdown answer as Telegram text + entities, split into sendable parts.

Formatting travels as ``MessageEntity`` objects, never as a MarkdownV2 string, so no
input can make Telegram answer "can't parse entities". The conversion is done by
telegramify-markdown's ``convert`` (pulldown-cmark underneath); this module only picks
its settings, keeps the entities Telegram accepts from a bot, and splits the result.

Any prefix of an answer renders, which is what streaming needs: unbalanced ``*``, ``_``
or ``[`` stay literal text, and an unclosed code fence renders as a code block up to the
end of the text. If the converter fails, the Markdown is sent as plain text instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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

if TYPE_CHECKING:
    import telegramify_markdown
    from telegramify_markdown.config import RenderConfig

__all__ = [
    "MAX_MESSAGE_UTF16",
    "FormattedText",
    "RenderedPart",
    "convert_markdown",
    "plain_parts",
    "render",
    "split_formatted",
    "utf16_len",
]

# Entity types a bot may send and the converter produces. Left out: custom_emoji, which
# only some bots may send, so a "tg://emoji" link in an answer stays plain text.
_SENDABLE = frozenset(
    {
        MessageEntityType.BOLD,
        MessageEntityType.ITALIC,
        MessageEntityType.UNDERLINE,
        MessageEntityType.STRIKETHROUGH,
        MessageEntityType.SPOILER,
        MessageEntityType.CODE,
        MessageEntityType.PRE,
        MessageEntityType.TEXT_LINK,
        MessageEntityType.BLOCKQUOTE,
        MessageEntityType.EXPANDABLE_BLOCKQUOTE,
    }
)
# Telegram rejects a text_link whose URL it cannot open; relative links ("#intro",
# "docs/x.md") and footnote definitions (which the converter turns into links) would
# make the whole message fail.
_LINK_SCHEMES = frozenset({"http", "https", "tg", "mailto"})


@functools.cache
def _converter() -> tuple[ModuleType, RenderConfig]:
    """telegramify-markdown's ``convert`` with its defaults, but headings without their emoji
    prefix. Loaded with the first answer, not at start (~1.6 MB, ~20 ms with its parser)."""
    import telegramify_markdown  # noqa: PLC0415
    from telegramify_markdown.config import RenderConfig  # noqa: PLC0415

    config = RenderConfig.isolated()  # never the process-global, mutable config
    symbols = config.markdown_symbol
    symbols.heading_level_1 = ""
    symbols.heading_level_2 = ""
    symbols.heading_level_3 = ""
    symbols.heading_level_4 = ""
    return telegramify_markdown, config


@dataclass(frozen=True, slots=True)
class FormattedText:
    """A whole rendered answer before splitting; ``fallback`` means formatting was lost."""

    text: str
    entities: tuple[MessageEntity, ...] = ()
    fallback: bool = False


def render(markdown: str, limit: int = MAX_MESSAGE_UTF16) -> list[RenderedPart]:
    """Render Markdown into message parts of at most ``limit`` UTF-16 units each.

    Never raises for any input (a converter failure gives plain parts, see
    :func:`convert_markdown`); returns no part when nothing visible remains.
    """
    document = convert_markdown(markdown)
    return split_formatted(document.text, document.entities, limit)


def convert_markdown(markdown: str) -> FormattedText:
    """Convert Markdown to the full text Telegram will show and its entities.

    Entities are sorted by offset, lie within the text and have a positive length.
    """
    source = normalize_text(markdown)
    converter, config = _converter()
    try:
        text, raw_entities = converter.convert(source, config=config)
    except Exception:  # noqa: BLE001 - any converter bug must degrade to plain text
        return FormattedText(source, fallback=True)
    except BaseException as exc:
        # A panic in the Rust parser surfaces as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        return FormattedText(source, fallback=True)
    text = normalize_text(text)
    total = utf16_len(text)
    entities = [entity for raw in raw_entities if (entity := _to_telegram(raw, total)) is not None]
    entities.sort(key=lambda entity: (entity.offset, -entity.length))
    return FormattedText(text, tuple(entities))


def _to_telegram(raw: telegramify_markdown.MessageEntity, total: int) -> MessageEntity | None:
    """The converter's entity as python-telegram-bot's, or None if Telegram would refuse it."""
    start = max(raw.offset, 0)
    end = min(raw.offset + raw.length, total)
    if raw.type not in _SENDABLE or end <= start:
        return None
    if raw.type == MessageEntityType.TEXT_LINK:
        if raw.url is None or not _is_sendable_url(raw.url):
            return None
        return MessageEntity(raw.type, start, end - start, url=raw.url)
    if raw.type == MessageEntityType.PRE:
        return MessageEntity(raw.type, start, end - start, language=_language(raw.language))
    return MessageEntity(raw.type, start, end - start)


def _is_sendable_url(url: str) -> bool:
    if any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if parts.scheme.lower() in {"http", "https"}:
        return bool(parts.netloc)
    return parts.scheme.lower() in _LINK_SCHEMES


def _language(info: str | None) -> str | None:
    """The language of a fence info string: its first word ("python title=a.py")."""
    words = (info or "").split()
    return words[0] if words else None
