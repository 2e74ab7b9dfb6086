"""What the fake Telegram server knows: chats, users, messages, drafts, pending updates."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes._tg_models import Draft, SentMessage, UploadedFile
from tests.fakes._tg_topics import Topics

# Update types Telegram leaves out unless allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_KEYS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
)  # fmt: skip

JsonDict = dict[str, Any]


def default_chat(chat_id: int) -> JsonDict:
    """A plausible chat object for an id never seen in an update."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}


class TelegramState:
    """The fake server's memory; every method here is synchronous and HTTP-free."""

    def __init__(self, bot_id: int, username: str, first_name: str) -> None:
        self.bot_user: JsonDict = {
            "id": bot_id, "is_bot": True, "first_name": first_name, "username": username,
        }  # fmt: skip
        self.updates: list[JsonDict] = []  # pushed and not yet confirmed by an offset
        self.allowed_updates: list[str] | None = None
        self.chats: dict[int, JsonDict] = {}
        self.users: dict[int, JsonDict] = {}
        self.known_messages: dict[tuple[int, int], JsonDict] = {}
        self.callback_queries: set[str] = set()
        self.callback_answers: dict[str, JsonDict] = {}
        self.chat_admins: dict[int, list[int]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.my_commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.drafts_supported = True
        self.topics = Topics()
        self._sent: dict[int, list[SentMessage]] = {}
        self._drafts: dict[int, list[Draft]] = {}
        self._last_message_id: dict[int, int] = {}
        self._next_update_id = 1
        self._next_file = 1

    # -- updates --------------------------------------------------------------------------

    def push_update(self, update: JsonDict) -> int:
        """Queue an update (update_id assigned, message ids and dates filled in); return its id."""
        update_id = self.register_update(update)
        self.updates.append(update)
        self._updates_changed()
        return update_id

    def register_update(self, update: JsonDict) -> int:
        """Assign update_id and remember the chats, users and messages in it (no queueing)."""
        update_id = self._next_update_id
        self._next_update_id += 1
        update["update_id"] = update_id
        for key in _MESSAGE_KEYS:
            if isinstance(update.get(key), dict):
                self._register_message(update[key])
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.callback_queries.add(str(query["id"]))
            self._register_user(query.get("from"))
        for key in ("my_chat_member", "chat_member"):
            if isinstance(update.get(key), dict):
                self._register_chat(update[key].get("chat"))
        return update_id

    def _updates_changed(self) -> None:
        """Hook for the server to wake long polls."""

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below offset (a negative offset keeps only the last -offset)."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def pending_updates(self) -> list[JsonDict]:
        """Unconfirmed updates of the currently allowed types."""
        if self.allowed_updates:
            allowed = set(self.allowed_updates)
            return [u for u in self.updates if _update_type(u) in allowed]
        return [u for u in self.updates if _update_type(u) not in _OPT_IN_UPDATES]

    def _register_message(self, message: JsonDict) -> None:
        chat = message.get("chat") or {}
        chat_id = int(chat.get("id", 0))
        self._register_chat(chat)
        self._register_user(message.get("from"))
        if "message_id" not in message:
            message["message_id"] = self.next_message_id(chat_id)
        message.setdefault("date", int(time.time()))
        message_id = int(message["message_id"])
        last = self._last_message_id.get(chat_id, 0)
        self._last_message_id[chat_id] = max(last, message_id)
        self.known_messages[(chat_id, message_id)] = message

    def _register_chat(self, chat: object) -> None:
        if isinstance(chat, dict) and "id" in chat:
            self.chats[int(chat["id"])] = chat

    def _register_user(self, user: object) -> None:
        if isinstance(user, dict) and "id" in user:
            self.users[int(user["id"])] = user

    # -- chats, users, messages -----------------------------------------------------------

    def chat(self, chat_id: int) -> JsonDict:
        """The chat object for chat_id (from updates, else a default one)."""
        return self.chats.get(chat_id) or default_chat(chat_id)

    def user(self, user_id: int) -> JsonDict:
        """The user object for user_id (the bot itself, one seen in updates, or a default)."""
        if user_id == self.bot_user["id"]:
            return self.bot_user
        return self.users.get(user_id) or {
            "id": user_id, "is_bot": False, "first_name": f"User{user_id}",
        }  # fmt: skip

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the next message id of a chat (users and the bot share the counter)."""
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    def new_file_id(self) -> str:
        """A fresh fake file_id."""
        self._next_file += 1
        return f"FAKE-FILE-{self._next_file - 1}"

    def store_sent(self, message: SentMessage) -> None:
        """Remember a message the bot sent."""
        if message.document is not None and message.file_id is None:
            message.file_id = self.new_file_id()
        self._sent.setdefault(message.chat_id, []).append(message)
        self.known_messages[(message.chat_id, message.message_id)] = self.sent_dict(message)

    def refresh(self, message: SentMessage) -> None:
        """Update the remembered Message object after an edit."""
        if (message.chat_id, message.message_id) in self.known_messages:
            self.known_messages[(message.chat_id, message.message_id)] = self.sent_dict(message)

    def find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot's live (not deleted) message with that id, if any."""
        for message in self._sent.get(chat_id, []):
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first."""
        sent = self._sent.get(chat_id, [])
        return [m for m in sent if include_deleted or not m.deleted]

    def store_draft(self, draft: Draft) -> None:
        """Remember an accepted draft."""
        self._drafts.setdefault(draft.chat_id, []).append(draft)

    def drafts(self, chat_id: int) -> list[str]:
        """Plain texts of the drafts streamed to a chat, in order."""
        return [d.text for d in self._drafts.get(chat_id, [])]

    def draft_records(self, chat_id: int) -> list[Draft]:
        """The full draft records of a chat, in order."""
        return list(self._drafts.get(chat_id, []))

    def set_chat_admins(self, chat_id: int, user_ids: list[int]) -> None:
        """Make these users the administrators of a chat (default: nobody)."""
        self.chat_admins[chat_id] = list(user_ids)

    def set_drafts_supported(self, supported: bool) -> None:
        """When False, sendMessageDraft answers 404 Not Found like an older Bot API server."""
        self.drafts_supported = supported

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The bot commands set for a scope and language."""
        return self.my_commands.get(command_key(scope, language_code), [])

    def message_dict(self, chat_id: int, message_id: int) -> JsonDict:
        """The Message object of a known message (pushed by a user or sent by the bot)."""
        known = self.known_messages.get((chat_id, message_id))
        if known is None:
            raise KeyError(f"message {message_id} of chat {chat_id} is unknown to the fake")
        return known

    def sent_dict(self, message: SentMessage) -> JsonDict:
        """The Telegram Message object for a sent message."""
        body: JsonDict = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self.chat(message.chat_id),
            "from": self.bot_user,
        }
        text_key, entities_key = "text", "entities"
        if message.document is not None:
            body["document"] = _document_dict(message.document, message.file_id or "")
            text_key, entities_key = "caption", "caption_entities"
        if message.text:
            body[text_key] = message.text
        if message.entities:
            body[entities_key] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        body.update(Topics.message_fields(message.thread_id))
        replied = self.known_messages.get((message.chat_id, message.reply_to_message_id or 0))
        if replied is not None:
            body["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        return body


def command_key(scope: object, language_code: object) -> tuple[str, str]:
    """Key of a commands list: the scope type (plus chat and user) and the language."""
    scope_dict = scope if isinstance(scope, dict) else {"type": "default"}
    parts = [str(scope_dict.get(k, "")) for k in ("type", "chat_id", "user_id")]
    return ":".join(parts), str(language_code or "")


def _document_dict(document: UploadedFile | str, file_id: str) -> JsonDict:
    if isinstance(document, str):
        return {"file_id": document, "file_unique_id": f"u-{document}"}
    return {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_name": document.filename,
        "mime_type": document.content_type,
        "file_size": len(document.content),
    }


def _update_type(update: JsonDict) -> str:
    return next((k for k in update if k != "update_id"), "")
