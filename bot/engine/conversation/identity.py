"""Conversation identity: the keys naming a conversation, and a stored message's source.

A conversation is (channel, chat, topic, conversation number). This module is the only place
that spells and parses its key:

- ``tg:<chat id>``: a Telegram chat (private chats have positive ids, groups negative ones),
  and also the General topic of a forum supergroup;
- ``tg:<chat id>:t<thread id>``: a forum topic other than General, or a topic of a private
  chat with topics (Telegram's ``message_thread_id``);
- ``...:c<number>``: the second and later conversations of a chat or topic (``/new``); the
  first conversation has no suffix, so a chat's key from before /new names its conversation 1.
  A chat's or topic's *base key* (its key without the number) names what its conversations
  share: its settings (model, persona, system prompt) and which conversation is current;
- ``term:<name>``: a terminal chat (``python -m bot chat --chat NAME``);
- ``tg:update:<update id>``: the Telegram update a stored message came from, which makes a
  re-delivered update a no-op.

The keys are stored in the database (turns, chat settings, usage), so their spelling never
changes: a plain chat keeps the key it had before topics existed, and a group that becomes a
forum keeps its history in its General topic (Telegram's General topic is the group's old
single thread; its messages carry no topic id). No stored key had to move, so no migration.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass

_TELEGRAM = "tg:"
_TERMINAL = "term:"
_TELEGRAM_UPDATE = "tg:update:"
_TELEGRAM_KEY = re.compile(r"tg:(-?\d+)(?::t(\d+))?(?::c(\d+))?")


@dataclass(frozen=True, slots=True)
class TelegramConversation:
    """Where a Telegram conversation lives: its chat, its topic (None: the chat itself or the
    General topic), and its number within that topic (1: the first)."""

    chat_id: int
    topic: int | None = None
    number: int = 1

    def __post_init__(self) -> None:
        if self.topic is not None and self.topic <= 0:
            raise ValueError(f"a topic id is positive: {self.topic}")
        if self.number < 1:
            raise ValueError(f"conversations are numbered from 1: {self.number}")

    @property
    def key(self) -> str:
        """The stored key (see the module docstring)."""
        key = f"{_TELEGRAM}{self.chat_id}"
        if self.topic is not None:
            key += f":t{self.topic}"
        if self.number > 1:
            key += f":c{self.number}"
        return key


def telegram_chat(chat_id: int, topic: int | None = None, number: int = 1) -> str:
    """The key of a Telegram conversation: a chat, or a topic of it (None: General/no topic)."""
    return TelegramConversation(chat_id, topic, number).key


def parse_telegram(key: str) -> TelegramConversation:
    """The conversation a key made by `telegram_chat` names (ValueError for any other key)."""
    match = _TELEGRAM_KEY.fullmatch(key)
    if match is not None:
        chat, topic, number = match.groups()
        with suppress(ValueError):  # a topic 0, a conversation 0: no key of ours
            found = TelegramConversation(
                int(chat), int(topic) if topic else None, int(number) if number else 1
            )
            if found.key == key:  # one spelling per conversation ("t07", ":c1" are not)
                return found
    raise ValueError(f"not a Telegram chat key: {key!r}")


def is_telegram_chat(key: str) -> bool:
    """Whether the key names a Telegram conversation (so the Telegram channel may deliver to
    it): any chat, topic or numbered conversation, never an update's source key."""
    try:
        parse_telegram(key)
    except ValueError:
        return False
    return True


def telegram_chat_id(key: str) -> int:
    """The Telegram chat id in a key made by `telegram_chat` (ValueError for any other key)."""
    return parse_telegram(key).chat_id


def telegram_topic(key: str) -> int | None:
    """The topic (``message_thread_id``) a Telegram key's answers go to; None: no topic."""
    return parse_telegram(key).topic


def numbered(base_key: str, number: int) -> str:
    """The key of conversation `number` of the chat or topic `base_key` (a Telegram key
    without a number). Other channels have only conversation 1 (ValueError for more)."""
    if number == 1:
        return base_key
    found = parse_telegram(base_key)
    if found.number != 1:
        raise ValueError(f"not a base key: {base_key!r}")
    return TelegramConversation(found.chat_id, found.topic, number).key


def base_key(key: str) -> str:
    """The chat or topic a conversation key belongs to (the key of its conversation 1):
    where its settings live. Any key that is not a numbered Telegram key is its own base."""
    try:
        found = parse_telegram(key)
    except ValueError:
        return key
    return TelegramConversation(found.chat_id, found.topic).key


def number_of(key: str) -> int:
    """The conversation number in a key (1 for conversation 1 and for any other channel)."""
    try:
        return parse_telegram(key).number
    except ValueError:
        return 1


def terminal_chat(name: str) -> str:
    """The key of a terminal chat."""
    return f"{_TERMINAL}{name}"


def telegram_update(update_id: int) -> str:
    """The source key of a message that arrived in the Telegram update `update_id`."""
    return f"{_TELEGRAM_UPDATE}{update_id}"


def short_name(key: str) -> str:
    """A key as an admin reads it in a report: a Telegram chat by its id (a topic as
    ``<chat id>:t<thread id>``), any other in full."""
    return key.removeprefix(_TELEGRAM) if is_telegram_chat(key) else key
