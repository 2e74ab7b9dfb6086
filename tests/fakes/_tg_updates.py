"""Builders that push realistic updates (private and group texts, any message, callbacks)."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.fakes._tg_models import SentMessage
from tests.fakes._tg_state import JsonDict, TelegramState
from tests.fakes._tg_textbuf import utf16_len

MessageRef = JsonDict | SentMessage | int | None
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")


def user_dict(user_id: int, first_name: str, username: str | None = None) -> JsonDict:
    """A Telegram User object for a human."""
    user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    return user


def auto_entities(text: str) -> list[JsonDict]:
    """bot_command for a leading /command, mention for each @username (UTF-16 offsets)."""
    entities: list[JsonDict] = []
    command = _COMMAND_RE.match(text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
    for mention in _MENTION_RE.finditer(text):
        if command and mention.start() < command.end():
            continue
        offset = utf16_len(text[: mention.start()])
        entities.append({"type": "mention", "offset": offset, "length": utf16_len(mention[0])})
    return entities


def text_quote(quote: str, replied: JsonDict | None) -> JsonDict:
    """A TextQuote as Telegram sends it: the quoted part, and its UTF-16 offset in the replied
    message's text or caption; the quote must be found there, as Telegram guarantees."""
    source = "" if replied is None else str(replied.get("text") or replied.get("caption") or "")
    at = source.find(quote)
    if replied is not None and at < 0:
        raise ValueError("a quote must be a part of the replied message")
    return {"text": quote, "position": utf16_len(source[: max(at, 0)]), "is_manual": True}


class UpdateBuilders(TelegramState):
    """push_* helpers; each returns the pushed update dict (with update_id and message_id)."""

    def push_message(
        self,
        chat: JsonDict,
        from_user: JsonDict | None,
        *,
        update_type: str = "message",
        **fields: Any,
    ) -> JsonDict:
        """Push any message (photo=..., sticker=..., voice=..., document=..., edit_date=...)."""
        message: JsonDict = {
            "message_id": fields.pop("message_id", None) or self.next_message_id(int(chat["id"])),
            "date": int(time.time()),
            "chat": chat,
        }
        if from_user is not None:
            message["from"] = from_user
        message.update(fields)
        update: JsonDict = {update_type: message}
        self.push_update(update)
        return update

    def send_private_update(
        self,
        chat_id: int,
        message_fields: JsonDict,
        update_type: str = "message",
        first_name: str = "Alice",
    ) -> JsonDict:
        """A private-chat message with any fields (photo, voice, sticker, document, caption...)."""
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        user = user_dict(chat_id, first_name)
        return self.push_message(chat, user, update_type=update_type, **message_fields)

    def send_private_text(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        *,
        first_name: str = "Alice",
        username: str | None = "alice",
        reply_to_message: MessageRef = None,
        entities: list[JsonDict] | None = None,
        quote: str | None = None,
    ) -> JsonDict:
        """A user writes text to the bot in a private chat (user id defaults to chat id);
        `quote` is the part of `reply_to_message` they quoted (Telegram's TextQuote)."""
        user = user_dict(user_id or chat_id, first_name, username)
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        return self._push_text(chat, user, text, reply_to_message, entities, quote)

    def send_group_text(
        self,
        chat_id: int,
        text: str,
        user_id: int,
        first_name: str = "Bob",
        *,
        username: str | None = None,
        reply_to_message: MessageRef = None,
        entities: list[JsonDict] | None = None,
        title: str = "Test Group",
        quote: str | None = None,
    ) -> JsonDict:
        """A user writes text in a group (-100... ids make a supergroup); `quote` is the part
        of `reply_to_message` they quoted (Telegram's TextQuote)."""
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = {"id": chat_id, "type": kind, "title": title}
        user = user_dict(user_id, first_name, username)
        return self._push_text(chat, user, text, reply_to_message, entities, quote)

    # -- topics -----------------------------------------------------------------------------

    def forum_chat(self, chat_id: int, title: str = "Test Forum") -> JsonDict:
        """Make a supergroup a forum (``is_forum``); its old messages are its General topic."""
        chat: JsonDict = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        self.chats[chat_id] = chat
        self.topics.enable(chat_id, forum=True)
        return chat

    def private_topics(self, chat_id: int) -> None:
        """Give a private chat topics (Bot API 9.3: the bot's threaded mode)."""
        self.topics.enable(chat_id, forum=False)

    def create_topic(self, chat_id: int, name: str, creator_id: int | None = None) -> int:
        """A user opens a topic: its id is that of the service message that created it."""
        thread = self.next_message_id(chat_id)
        self.topics.add(chat_id, thread, name)
        created: JsonDict = {
            "message_id": thread,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(creator_id or (chat_id if chat_id > 0 else 1)),
            "forum_topic_created": {"name": name, "icon_color": 7322096},
            **self.topics.message_fields(thread),
        }
        self.known_messages[(chat_id, thread)] = created
        return thread

    def send_topic_text(
        self,
        chat_id: int,
        text: str,
        user_id: int,
        first_name: str = "Bob",
        *,
        thread_id: int | None = None,
        reply_to_message: MessageRef = None,
    ) -> JsonDict:
        """A user writes in a forum topic (`thread_id`) or its General topic (None).

        As in Telegram, a topic message that replies to nothing replies to the topic's
        creation message; a General topic message carries no thread id.
        """
        user = user_dict(user_id, first_name)
        replied = reply_to_message if reply_to_message is not None else thread_id
        return self._push_text(self.chat(chat_id), user, text, replied, None, thread_id=thread_id)

    def send_private_topic_text(
        self, chat_id: int, text: str, thread_id: int, first_name: str = "Alice"
    ) -> JsonDict:
        """A user writes in a topic of their private chat with the bot."""
        user = user_dict(chat_id, first_name, "alice")
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        return self._push_text(chat, user, text, thread_id, None, thread_id=thread_id)

    def _push_text(
        self,
        chat: JsonDict,
        user: JsonDict,
        text: str,
        reply_to: MessageRef,
        entities: list[JsonDict] | None,
        quote: str | None = None,
        thread_id: int | None = None,
    ) -> JsonDict:
        fields: JsonDict = {"text": text, **self.topics.message_fields(thread_id)}
        found = auto_entities(text) if entities is None else entities
        if found:
            fields["entities"] = found
        replied = self.message_ref(int(chat["id"]), reply_to)
        if replied is not None:
            fields["reply_to_message"] = replied
        if quote is not None:
            fields["quote"] = text_quote(quote, replied)
        return self.push_message(chat, user, **fields)

    def push_callback_query(
        self,
        chat_id: int,
        user_id: int,
        data: str,
        message: MessageRef = None,
        first_name: str = "Alice",
    ) -> JsonDict:
        """A user presses an inline button with callback data (on message, if given)."""
        query_id = f"{user_id}-{len(self.callback_queries) + 1}"
        query: JsonDict = {
            "id": query_id,
            "from": self.users.get(user_id) or user_dict(user_id, first_name),
            "chat_instance": str(chat_id),
            "data": data,
        }
        replied = self.message_ref(chat_id, message)
        if replied is not None:
            query["message"] = replied
        update: JsonDict = {"callback_query": query}
        self.push_update(update)
        return update

    def push_bot_membership(
        self, chat: JsonDict, from_user: JsonDict, new_status: str = "member"
    ) -> JsonDict:
        """my_chat_member: the bot's status changes to member, left or kicked."""

        def member(status: str) -> JsonDict:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": self.bot_user, **extra}

        old_status = "left" if new_status == "member" else "member"
        update: JsonDict = {
            "my_chat_member": {
                "chat": chat,
                "from": from_user,
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            }
        }
        self.push_update(update)
        return update

    def message_ref(self, chat_id: int, ref: MessageRef) -> JsonDict | None:
        """A Message object from a message or update dict, a SentMessage or a known message id."""
        if ref is None:
            return None
        if isinstance(ref, dict):
            # An update returned by a builder stands for the message it carries.
            return ref.get("message", ref) if "update_id" in ref else ref
        if isinstance(ref, SentMessage):
            return self.sent_dict(ref)
        return self.message_dict(chat_id, ref)
