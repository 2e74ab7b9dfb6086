"""Conversation identity: the stored spelling of chat and source keys never changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


class TestTopics:
    def test_plain_chat_keys_are_unchanged(self) -> None:
        """A chat without topics, and a forum's General topic, keep the key stored before
        topics existed, so their history, summary and settings stay theirs."""
        assert identity.telegram_chat(-100123, None) == "tg:-100123"
        assert identity.telegram_chat(42, topic=None, number=1) == "tg:42"
        assert identity.parse_telegram("tg:-100123") == identity.TelegramConversation(-100123)

    def test_topic_key_spelling(self) -> None:
        """A topic is its chat's key with ":t<thread id>"; a later conversation adds ":c<n>"."""
        assert identity.telegram_chat(-100123, 7) == "tg:-100123:t7"
        assert identity.telegram_chat(42, 3) == "tg:42:t3"
        assert identity.telegram_chat(-100123, 7, number=2) == "tg:-100123:t7:c2"
        assert identity.telegram_chat(42, None, number=3) == "tg:42:c3"

    @given(
        chat=st.integers(min_value=-(10**13), max_value=10**13),
        topic=st.none() | st.integers(min_value=1, max_value=2**31),
        number=st.integers(min_value=1, max_value=10**6),
    )
    def test_round_trip(self, chat: int, topic: int | None, number: int) -> None:
        """Every (chat, topic, number) is read back from its key, and names a Telegram chat."""
        key = identity.telegram_chat(chat, topic, number)
        assert identity.is_telegram_chat(key)
        assert identity.parse_telegram(key) == identity.TelegramConversation(chat, topic, number)
        assert identity.telegram_chat_id(key) == chat
        assert identity.telegram_topic(key) == topic

    @pytest.mark.parametrize(
        "key",
        [
            "tg:update:7",
            "tg:",
            "tg:-5:t",
            "tg:5:t0",
            "tg:5:c0",
            "tg:5:c1",
            "tg:5:t07",
            "tg:5:x1",
            "term:5",
            "5",
        ],
    )
    def test_other_keys_are_refused(self, key: str) -> None:
        """An update's source key, a malformed key or another channel's is no conversation."""
        assert not identity.is_telegram_chat(key)
        with pytest.raises(ValueError):
            identity.parse_telegram(key)

    def test_short_name_of_a_topic(self) -> None:
        """Reports show a topic as "<chat id>:t<thread id>"."""
        assert identity.short_name("tg:-5:t9") == "-5:t9"


class TestNumberedConversations:
    def test_numbers_round_trip(self) -> None:
        """Conversation n of a chat or topic is "<base>:c<n>" (n >= 2), and reads back."""
        for base in ("tg:42", "tg:-100123:t7"):
            assert identity.numbered(base, 1) == base
            key = identity.numbered(base, 3)
            assert key == f"{base}:c3"
            assert identity.base_key(key) == base
            assert identity.number_of(key) == 3
            assert identity.number_of(base) == 1
            assert identity.telegram_topic(key) == identity.telegram_topic(base)
            assert identity.is_telegram_chat(key)

    def test_other_keys_are_their_own_base(self) -> None:
        """A terminal key has only conversation 1 and is its own base."""
        key = identity.terminal_chat("work")
        assert identity.base_key(key) == key
        assert identity.number_of(key) == 1
        with pytest.raises(ValueError, match="not a Telegram chat key"):
            identity.numbered(key, 2)

    def test_numbered_needs_a_base(self) -> None:
        """A numbered key is not a base: numbering it again is refused."""
        with pytest.raises(ValueError, match="not a base key"):
            identity.numbered("tg:1:c2", 3)

    @given(
        st.integers(min_value=-(10**13), max_value=10**13),
        st.none() | st.integers(min_value=1, max_value=10**9),
        st.integers(min_value=1, max_value=10**6),
    )
    def test_any_conversation_round_trips(self, chat: int, topic: int | None, number: int) -> None:
        """Every (chat, topic, number) has one key that parses back to it."""
        key = identity.telegram_chat(chat, topic, number)
        assert identity.numbered(identity.base_key(key), number) == key
        assert identity.parse_telegram(key) == identity.TelegramConversation(chat, topic, number)
