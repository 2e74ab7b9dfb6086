"""Conversation identity: the keys naming a chat, and a stored message's source, in every channel.

This module is the only place that spells them:

- ``tg:<chat id>``: a Telegram chat (private chats have positive ids, groups negative ones);
- ``term:<name>``: a terminal chat (``python -m bot chat --chat NAME``);
- ``tg:update:<update id>``: the Telegram update a stored message came from, which makes a
  re-delivered update a no-op.

The keys are stored in the database (turns, chat settings, usage), so their spelling never
changes. A conversation of its own per forum topic gets its key built and parsed here too.
"""

from __future__ import annotations

_TELEGRAM = "tg:"
_TERMINAL = "term:"
_TELEGRAM_UPDATE = "tg:update:"


def telegram_chat(chat_id: int) -> str:
    """The key of a Telegram chat."""
    return f"{_TELEGRAM}{chat_id}"


def is_telegram_chat(key: str) -> bool:
    """Whether the key names a Telegram chat (so the Telegram channel may deliver to it)."""
    return key.startswith(_TELEGRAM)


def telegram_chat_id(key: str) -> int:
    """The Telegram chat id in a key made by `telegram_chat` (ValueError for any other key)."""
    if not is_telegram_chat(key):
        raise ValueError(f"not a Telegram chat key: {key!r}")
    return int(key.removeprefix(_TELEGRAM))


def terminal_chat(name: str) -> str:
    """The key of a terminal chat."""
    return f"{_TERMINAL}{name}"


def telegram_update(update_id: int) -> str:
    """The source key of a message that arrived in the Telegram update `update_id`."""
    return f"{_TELEGRAM_UPDATE}{update_id}"


def short_name(key: str) -> str:
    """A key as an admin reads it in a report: a Telegram chat by its id, any other in full."""
    return key.removeprefix(_TELEGRAM)
