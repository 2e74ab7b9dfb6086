"""What is read aloud of an answer, and the question a file without a caption asks."""

from __future__ import annotations

from bot.engine.media.prompts import default_question
from bot.engine.media.speech import speakable
from bot.storage.records import AttachmentKind


class TestSpeakable:
    def test_markdown_is_not_read(self) -> None:
        """Emphasis, headings, links and code blocks are not read out."""
        text = "# Title\n**Bold** and [a link](http://x).\n```\ncode\n```\nDone."
        assert speakable(text, 500) == "Title Bold and a link. Done."

    def test_cut_after_a_sentence(self) -> None:
        """A long answer is read up to the last sentence within the limit."""
        text = "One sentence here. Two sentences here. " + "x" * 100
        assert speakable(text, 50) == "One sentence here. Two sentences here."


class TestDefaultQuestion:
    def test_in_the_users_language(self) -> None:
        """The default question follows the sender's language, English otherwise."""
        assert default_question(AttachmentKind.IMAGE, "de-AT").startswith("Beschreibe")
        assert default_question(AttachmentKind.DOCUMENT, "xx") == "Summarise this document."
        assert default_question(AttachmentKind.VOICE, "ru") == ""
