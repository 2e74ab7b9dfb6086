"""Who may use the bot: allowlists of user and chat ids, and the bot's admins.

Ids, not usernames: a username can be changed and then taken by someone else; an id cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import LimitSettings


@dataclass(frozen=True)
class AccessPolicy:
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> AccessPolicy:
        return cls(settings.allowed_user_ids, settings.allowed_chat_ids, settings.admin_user_ids)

    @property
    def is_open(self) -> bool:
        """No allowlist is configured: anyone may talk to the bot."""
        return not (self.allowed_users or self.allowed_chats)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """An allowed user may talk anywhere; in an allowed chat every member may talk."""
        return (
            self.is_open
            or chat_id in self.allowed_chats
            or (user_id is not None and (user_id in self.allowed_users or user_id in self.admins))
        )
