"""Topics: forum supergroups and private chats with topics, as the Bot API shows them.

- A forum supergroup has ``is_forum``; its General topic is the chat's old single thread:
  messages there carry no ``message_thread_id``, and sending with ``message_thread_id=1``
  (General's internal id) is refused ("message thread not found"), except by sendChatAction.
- Any other topic has an id (the id of the service message that created it); its messages
  carry ``message_thread_id`` and ``is_topic_message``.
- A private chat with topics (Bot API 9.3) works the same way, without a General topic.
- A ``message_thread_id`` aimed at a chat without topics, or at an unknown topic, is refused;
  in a plain group a reply chain's thread id is no topic either.
"""

from __future__ import annotations

from typing import Any

from tests.fakes._tg_models import ApiCall, bad_request

JsonDict = dict[str, Any]

GENERAL_TOPIC = 1


class Topics:
    """Which chats have topics, and which topics they have."""

    def __init__(self) -> None:
        self.by_chat: dict[int, set[int]] = {}
        self.names: dict[tuple[int, int], str] = {}
        self.forums: set[int] = set()

    def enable(self, chat_id: int, *, forum: bool) -> None:
        """Give a chat topics (a forum supergroup, or a private chat with topics)."""
        self.by_chat.setdefault(chat_id, set())
        if forum:
            self.forums.add(chat_id)

    def add(self, chat_id: int, thread_id: int, name: str) -> None:
        """A topic of a chat that has topics."""
        self.by_chat[chat_id].add(thread_id)
        self.names[(chat_id, thread_id)] = name

    def checked(self, chat_id: int, call: ApiCall, *, action: bool = False) -> int | None:
        """The topic a call is aimed at, as Telegram checks it; None: the chat (or General)."""
        thread = call.thread_id
        if thread is None:
            return None
        if action and thread == GENERAL_TOPIC and chat_id in self.forums:
            return None  # typing in the General topic
        if thread not in self.by_chat.get(chat_id, set()):
            raise bad_request("message thread not found")
        return thread

    @staticmethod
    def message_fields(thread_id: int | None) -> JsonDict:
        """What a message in that topic carries (nothing for General / no topic)."""
        if thread_id is None:
            return {}
        return {"message_thread_id": thread_id, "is_topic_message": True}
