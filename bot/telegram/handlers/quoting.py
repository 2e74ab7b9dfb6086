"""What a message to the bot replies to: the quote the model is shown with the question.

- A reply to anyone's message (another member's, one's own, a channel post): its text (or
  caption) is quoted, with its author's name.
- A part of a message quoted with Telegram's quote feature (`message.quote`, Bot API 7.0+):
  only that part, also from a message in another chat (`external_reply`).
- A reply to the bot's own message: only a quoted part is passed. A plain reply to one of its
  answers addresses the bot (see triggers.py) and quotes nothing: its recent answers are in
  the conversation already, and quoting them again would only repeat them at a token cost.
- A message without text (a photo without caption, a sticker, the service message that opens
  a forum topic, which every topic message implicitly replies to) quotes nothing.
"""

from __future__ import annotations

from telegram import (
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    User,
)

from bot.engine.conversation.quotes import make_quote
from bot.storage.records import Quote
from bot.telegram.handlers.triggers import is_reply_to_bot, speaker_name


def quote_of(message: Message, bot: User) -> Quote | None:
    """The quote to store with the message's turn, bounded and cleaned; None if it has none."""
    replied = message.reply_to_message
    own = is_reply_to_bot(message, bot)
    if message.quote is not None:
        if replied is not None:
            author = None if own else _author(replied)
        elif message.external_reply is not None:
            author = _origin_name(message.external_reply.origin)
        else:
            author = None
        return make_quote(message.quote.text, author, own=own)
    if replied is None or own:
        return None
    return make_quote(replied.text or replied.caption, _author(replied))


def _author(replied: Message) -> str | None:
    """Who wrote the replied message: for a forwarded one its original author (when Telegram
    tells), else the chat it was sent as (a channel, an anonymous admin), else the user."""
    if replied.forward_origin is not None:
        origin = _origin_name(replied.forward_origin)
        if origin:
            return origin
    if replied.sender_chat is not None:
        return replied.sender_chat.effective_name
    return speaker_name(replied.from_user)


def _origin_name(origin: MessageOrigin) -> str | None:
    """The author of a message from another chat, as far as Telegram says."""
    if isinstance(origin, MessageOriginUser):
        return speaker_name(origin.sender_user)
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.effective_name
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.effective_name
    return None
