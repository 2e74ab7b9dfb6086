"""When the bot answers: always in private chats; in groups only when it is addressed.

Addressed means mentioned (@botname), or a reply to one of its messages. Commands are
routed separately. The decision uses only what Telegram sends with privacy mode on, so the
bot behaves the same with it on or off.
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity, User

from bot.engine.text import clean_speaker


def is_private(message: Message) -> bool:
    return message.chat.type == "private"


def is_reply_to_bot(message: Message, bot: User) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


def _mentions_bot(message: Message, bot: User) -> bool:
    username = (bot.username or "").lower()
    parsed = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    parsed.update(
        message.parse_caption_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    )
    for entity, text in parsed.items():
        if entity.type == MessageEntity.MENTION and text.lower() == f"@{username}":
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
    return False


def is_addressed(message: Message, bot: User) -> bool:
    """Whether the bot should answer this message at all."""
    return is_private(message) or is_reply_to_bot(message, bot) or _mentions_bot(message, bot)


def strip_mention(text: str, bot: User) -> str:
    """The message without the bot's @username, which only addressed it."""
    if not bot.username:
        return text.strip()
    pattern = re.compile(rf"@{re.escape(bot.username)}\b", re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", pattern.sub("", text)).strip()


def speaker_name(user: User | None) -> str | None:
    """How a group member is named to the model: their display name made safe (one line, no
    role markers, at most 64 characters: see clean_speaker), else @username, else the id."""
    if user is None:
        return None
    name = clean_speaker(user.full_name or "")
    return name or (f"@{user.username}" if user.username else f"user {user.id}")


def sender_id(message: Message) -> int | None:
    """Who sent the message, as rate limits and budgets count: the user, or for a message sent
    as a chat (an anonymous group admin writes as the group, a user may post as their channel)
    that chat's id. Telegram gives all of those one shared placeholder user, which would make
    every anonymous admin and channel poster share one limit."""
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user is not None else None


def asks_with_file(message: Message) -> bool:
    """A photo, voice note, audio, video note or document: a question for the model."""
    return bool(
        message.photo or message.voice or message.audio or message.video_note or message.document
    )
