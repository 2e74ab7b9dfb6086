"""Telegram's text rules: UTF-16 lengths and explicit entity checks.

Lengths and offsets are in UTF-16 code units, as in the Bot API. The emptiness check ignores
leading and trailing whitespace, as Telegram does; the stored text is not trimmed.

The bot formats with explicit entities and never sends parse_mode, so the fake does not parse
HTML or Markdown: a parse_mode without entities is refused, so that a change that starts
sending one fails loudly here instead of passing unchecked.
"""

from __future__ import annotations

from tests.fakes._tg_models import bad_request, cant_parse
from tests.fakes._tg_textbuf import Entities, utf16_len

ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
        "bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
        "expandable_blockquote", "code", "pre", "text_link", "text_mention", "custom_emoji",
        "date_time",
    }
)  # fmt: skip
_REQUIRED_FIELDS = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}


def check_entities(text: str, entities: object) -> Entities:
    """Validate explicit entities against text; raise a 400 ApiError for the first bad one."""
    if not isinstance(entities, list):
        raise cant_parse("entities must be an array")
    total = utf16_len(text)
    checked: Entities = []
    for index, entity in enumerate(entities):
        if not isinstance(entity, dict):
            raise cant_parse(f"entity {index} must be an object")
        kind, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
        if kind not in ENTITY_TYPES:
            raise cant_parse(f"entity {index} has unsupported type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise cant_parse(f"entity {index} has a bad offset or length")
        if offset + length > total:
            raise cant_parse(f"entity {index} ends beyond the end of the text ({total})")
        needed = _REQUIRED_FIELDS.get(kind)
        if needed and not entity.get(needed):
            raise cant_parse(f"entity {index} of type {kind} needs {needed}")
        checked.append(dict(entity))
    return checked


def parse_text(text: str, parse_mode: object, entities: object) -> tuple[str, Entities]:
    """The text and its checked entities (which win over parse_mode, as in Telegram); a 400 for
    a parse_mode without entities (the fake does not parse markup)."""
    if entities is not None:
        return text, check_entities(text, entities)
    if parse_mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}: the fake takes entities only")
    return text, []


def parse_checked(
    text: object, parse_mode: object, entities: object, *, limit: int, caption: bool = False
) -> tuple[str, Entities]:
    """parse_text plus Telegram's emptiness and length checks (limit in UTF-16 units)."""
    what = "message caption" if caption else "message text"
    if text is None or text == "":
        if caption:
            return "", []
        raise bad_request(f"{what} is empty")
    if not isinstance(text, str):
        raise bad_request(f"{what} must be a string")
    plain, found = parse_text(text, parse_mode, entities)
    if not caption and not plain.strip():
        raise bad_request(f"{what} is empty")
    if utf16_len(plain) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, found
