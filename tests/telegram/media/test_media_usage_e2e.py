"""End to end: /export keeps transcripts, documents and image marks; /stats and budgets count
transcription (per minute) and speech (per character)."""

from __future__ import annotations

from typing import ClassVar

from tests.fakes.telegram_files import document_fields, photo_fields, voice_fields
from tests.support.chats import PRIVATE, answer_in
from tests.support.media import JPEG
from tests.support.running import LogCapture, RunningBot


class TestExport:
    ENV: ClassVar[dict[str, str]] = {"VISION_MODELS": "gpt-test"}

    async def test_export_has_what_was_sent(self, bot: RunningBot) -> None:
        """The Markdown export shows the transcript, the document's name and text, and where
        an image was."""
        files = bot.telegram.files
        bot.telegram.send_private_update(PRIVATE, voice_fields(files, b"spoken words"))
        await answer_in(bot, PRIVATE, 2)
        document = document_fields(files, b"file body", "notes.txt", "text/plain", "read")
        bot.telegram.send_private_update(PRIVATE, document)
        await answer_in(bot, PRIVATE, 3)
        bot.telegram.send_private_update(PRIVATE, photo_fields(files, [(JPEG, 80, 80)], "see"))
        await answer_in(bot, PRIVATE, 4)
        bot.telegram.send_private_text(PRIVATE, "/export")
        await answer_in(bot, PRIVATE, 5)
        exported = bot.telegram.messages(PRIVATE)[4].document
        assert exported is not None and not isinstance(exported, str)
        text = exported.content.decode()
        assert "spoken words" in text
        assert '<document name="notes.txt">' in text and "file body" in text
        assert "[an image] see" in text


class TestCosts:
    ENV: ClassVar[dict[str, str]] = {"TTS_PRICES": "tts-1=1000000"}  # $1 per character

    async def test_stats_count_transcription_and_speech(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A one-minute voice note costs whisper-1's $0.006; with /voice each spoken
        character is priced (TTS_PRICES); /stats adds them to the chat's requests and cost."""
        fields = voice_fields(bot.telegram.files, b"hi", duration=60)
        bot.telegram.send_private_update(PRIVATE, fields)
        await answer_in(bot, PRIVATE, 2)
        bot.telegram.send_private_text(PRIVATE, "/stats")
        stats = await answer_in(bot, PRIVATE, 3)
        assert "Requests: 2" in stats and "Estimated cost: $0.0060" in stats
        bot.telegram.send_private_text(PRIVATE, "/voice")
        await answer_in(bot, PRIVATE, 4)
        bot.telegram.send_private_text(PRIVATE, "abc")
        await answer_in(bot, PRIVATE, 5)
        await logs.wait_for("voice_reply_sent")  # "echo: abc": 9 characters spoken
        bot.telegram.send_private_text(PRIVATE, "/stats")
        stats = await answer_in(bot, PRIVATE, 7)
        assert "Requests: 4" in stats and "Estimated cost: $9.0060" in stats
