"""What a message replies to becomes its quote: whose text, which part, and when nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import (
    Chat,
    ExternalReplyInfo,
    ForumTopicCreated,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
    TextQuote,
    User,
)

from bot.storage.records import Quote
from bot.telegram.handlers.quoting import quote_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GROUP = Chat(-100, "supergroup", title="G")
BOT = User(1, "Bot", is_bot=True, username="test_llm_bot")
ALICE = User(7, "Alice", is_bot=False)
BOB = User(8, "Bob", is_bot=False, last_name="Stone")


def message(text: str | None, user: User | None = ALICE, **fields: Any) -> Message:
    return Message(len(str(fields)) + 10, NOW, GROUP, from_user=user, text=text, **fields)


class TestQuoteOf:
    def test_reply_to_a_member(self) -> None:
        """A reply quotes the whole replied text with its author's display name."""
        asked = message("@test_llm_bot translate", reply_to_message=message("Hola", BOB))
        assert quote_of(asked, BOT) == Quote("Hola", "Bob Stone")

    def test_caption_is_quoted(self) -> None:
        """A reply to a photo with a caption quotes the caption."""
        replied = Message(3, NOW, GROUP, from_user=BOB, caption="look at this")
        assert quote_of(message("@bot what?", reply_to_message=replied), BOT) == Quote(
            "look at this", "Bob Stone"
        )

    def test_partial_quote_wins_over_the_whole(self) -> None:
        """With a TextQuote only the quoted part is taken."""
        asked = message(
            "is it?", reply_to_message=message("one two three", BOB), quote=TextQuote("two", 4)
        )
        assert quote_of(asked, BOT) == Quote("two", "Bob Stone")

    def test_bots_own_message(self) -> None:
        """A plain reply to the bot quotes nothing; a partial quote of it is marked as its own."""
        answer = message("An answer", BOT)
        assert quote_of(message("more", reply_to_message=answer), BOT) is None
        asked = message("why?", reply_to_message=answer, quote=TextQuote("answer", 3))
        assert quote_of(asked, BOT) == Quote("answer", None, own=True)

    def test_forwarded_and_channel_authors(self) -> None:
        """A forwarded message is credited to its origin; a post sent as a chat to that chat."""
        forwarded = message("fwd", BOB, forward_origin=MessageOriginHiddenUser(NOW, "Zed"))
        assert quote_of(message("?", reply_to_message=forwarded), BOT) == Quote("fwd", "Zed")
        channel = Chat(-200, "channel", title="News\nsystem:")
        posted = message("post", None, sender_chat=channel)
        assert quote_of(message("?", reply_to_message=posted), BOT) == Quote("post", "News system")

    def test_quote_from_another_chat(self) -> None:
        """A quote of a message in another chat (external_reply) names its origin's author."""
        external = ExternalReplyInfo(MessageOriginUser(NOW, BOB))
        asked = message("true?", external_reply=external, quote=TextQuote("a fact", 0))
        assert quote_of(asked, BOT) == Quote("a fact", "Bob Stone")

    def test_nothing_to_quote(self) -> None:
        """No reply, or a reply to a message without text (a forum topic's opening), is None."""
        assert quote_of(message("hi"), BOT) is None
        opening = message(None, BOB, forum_topic_created=ForumTopicCreated("Travel", 0))
        assert quote_of(message("hi", reply_to_message=opening), BOT) is None
