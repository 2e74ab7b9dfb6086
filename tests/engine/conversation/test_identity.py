"""Conversation identity: the stored spelling of chat and source keys never changes."""

from __future__ import annotations

import pytest

from bot.engine.conversation import identity


class TestTelegramChats:
    def test_key_spelling(self) -> None:
        """A Telegram chat is stored as "tg:<chat id>", groups with their minus sign."""
        assert identity.telegram_chat(42) == "tg:42"
        assert identity.telegram_chat(-100123) == "tg:-100123"

    def test_chat_id_round_trips(self) -> None:
        """The chat id is read back from its key."""
        assert identity.telegram_chat_id(identity.telegram_chat(-100123)) == -100123

    def test_other_channels_are_not_telegram_chats(self) -> None:
        """A terminal key is not taken for a Telegram chat (recovery leaves it alone)."""
        key = identity.terminal_chat("work")
        assert not identity.is_telegram_chat(key)
        with pytest.raises(ValueError, match="not a Telegram chat key"):
            identity.telegram_chat_id(key)


class TestOtherKeys:
    def test_terminal_key_spelling(self) -> None:
        """A terminal chat is stored as "term:<name>"."""
        assert identity.terminal_chat("work") == "term:work"

    def test_update_source_key_spelling(self) -> None:
        """A message's source is stored as "tg:update:<update id>"."""
        assert identity.telegram_update(7) == "tg:update:7"

    def test_short_name(self) -> None:
        """Reports show a Telegram chat by its id and any other key (a user id) as it is."""
        assert identity.short_name("tg:-5") == "-5"
        assert identity.short_name("12345") == "12345"
        assert identity.short_name("term:work") == "term:work"
