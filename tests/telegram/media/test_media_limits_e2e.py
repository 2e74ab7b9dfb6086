"""End to end: media under the bot's limits: refused chats, budgets, Telegram's download
limit, slow downloads that never hold up other chats, and MEDIA_ENABLED=false."""

from __future__ import annotations

from tests.fakes.telegram_files import document_fields, photo_fields, voice_fields
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.media import JPEG
from tests.support.running import LogCapture, RunningBot

OTHER = PRIVATE + 7


class TestRefusedBeforeDownload:
    async def test_stranger_photo_is_not_downloaded(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A photo from someone the allowlist refuses: the usual refusal, no download, no
        model call, nothing stored."""
        await bot.restart(ALLOWED_USER_IDS="42", VISION_MODELS="gpt-test")
        fields = photo_fields(bot.telegram.files, [(JPEG, 800, 600)], "look")
        bot.telegram.send_private_update(PRIVATE, fields)
        await answer_in(bot, PRIVATE)
        (refused,) = await logs.wait_for("update_refused")
        assert refused["reason"] == "not_allowed"
        assert bot.telegram.files.downloads == [] and bot.model.requests == []
        assert stored_turns(bot) == []

    async def test_over_budget_voice_is_not_transcribed(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A voice note from a user whose budget is used up: told so; nothing downloaded or
        transcribed."""
        await bot.restart(USER_DAILY_TOKEN_LIMIT="10")
        bot.telegram.send_private_text(PRIVATE, "use it up")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"more"))
        assert "daily allowance" in await answer_in(bot, PRIVATE, 2)
        assert bot.telegram.files.downloads == [] and bot.model.audio.transcriptions == []


class TestDownloads:
    async def test_telegram_says_too_big(self, bot: RunningBot) -> None:
        """A file whose size the message did not tell, which getFile refuses as too big for
        bots: the 20 MB answer, the turn failed."""
        fields = document_fields(
            bot.telegram.files, b"x", "huge.txt", "text/plain", size=30 * 1024 * 1024
        )
        del fields["document"]["file_size"]
        bot.telegram.send_private_update(PRIVATE, fields)
        assert "20 MB" in await answer_in(bot, PRIVATE)
        assert stored_turns(bot)[0][1:] == ("failed", "media_too_large")

    async def test_slow_download_never_holds_up_another_chat(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """While one chat's download drags past MEDIA_DOWNLOAD_TIMEOUT another chat is
        answered; the slow one is told to send the file again."""
        await bot.restart(MEDIA_DOWNLOAD_TIMEOUT="3")
        bot.telegram.files.download_delay = 10
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"slow"))
        bot.telegram.send_private_text(OTHER, "quick one")
        assert await answer_in(bot, OTHER) == "echo: quick one"
        assert bot.telegram.messages(PRIVATE) == []  # still downloading
        assert "couldn't download" in await answer_in(bot, PRIVATE, timeout=15)
        await logs.wait_for("media_download_timed_out")


class TestDisabled:
    async def test_media_disabled_restores_text_only(self, bot: RunningBot) -> None:
        """MEDIA_ENABLED=false: a voice note gets the text-only note, as before."""
        await bot.restart(MEDIA_ENABLED="false")
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"hi"))
        assert "only read text" in await answer_in(bot, PRIVATE)
        assert bot.telegram.files.downloads == [] and stored_turns(bot) == []

    async def test_sticker_still_gets_the_note(self, bot: RunningBot, logs: LogCapture) -> None:
        """With media on, what the model cannot be given (a sticker) still gets the note."""
        sticker = {
            "file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
            "is_animated": False, "is_video": False, "type": "regular",
        }  # fmt: skip
        bot.telegram.send_private_update(PRIVATE, {"sticker": sticker})
        assert "only read text" in await answer_in(bot, PRIVATE)
        (note,) = await logs.wait_for("non_text_message")
        assert note["kind"] == "sticker" and bot.model.requests == []
