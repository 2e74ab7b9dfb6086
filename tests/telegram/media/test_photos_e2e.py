"""End to end: photos and albums reach a vision model as image parts; follow-ups keep them."""

from __future__ import annotations

import sqlite3
from typing import ClassVar

from tests.fakes.telegram_files import document_fields, photo_fields
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.database import database
from tests.support.media import JPEG, images_in, text_of
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until


def stored_attachments(bot: RunningBot) -> int:
    with sqlite3.connect(database(bot)) as db:
        return int(db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0])


VISION = {"VISION_MODELS": "gpt-test", "IMAGE_CONTEXT_TURNS": "2"}


def _photo(bot: RunningBot, caption: str | None = None, **fields: object) -> dict[str, object]:
    sizes = [(b"small" + JPEG, 90, 60), (b"mid" + JPEG, 800, 600), (b"huge" + JPEG, 4000, 3000)]
    return {**photo_fields(bot.telegram.files, sizes, caption), **fields}


class TestPhoto:
    ENV: ClassVar[dict[str, str]] = VISION

    async def test_caption_is_the_question_with_the_best_size(self, bot: RunningBot) -> None:
        """A photo with a caption: one request with the caption and the largest size within
        IMAGE_MAX_SIDE as a base64 data URL; the answer comes back."""
        bot.telegram.send_private_update(PRIVATE, _photo(bot, "What is this?"))
        assert await answer_in(bot, PRIVATE) == "echo: [an image] What is this?"
        request = bot.model.requests[-1]
        assert images_in(request) == [b"mid" + JPEG]
        last = request.messages[-1]
        assert last["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        (downloaded,) = bot.telegram.files.downloads
        assert bot.telegram.files.files[downloaded].content == b"mid" + JPEG

    async def test_no_caption_asks_to_describe_in_the_users_language(self, bot: RunningBot) -> None:
        """Without a caption the question is the default one, in the sender's language."""
        fields = _photo(bot)
        update = bot.telegram.send_private_update(PRIVATE, fields)
        update["message"]["from"]["language_code"] = "de"
        assert (await answer_in(bot, PRIVATE)).startswith("echo: [an image] Beschreibe dieses Bild")

    async def test_image_file_is_an_image(self, bot: RunningBot) -> None:
        """A PNG sent as a file goes to the model as an image too."""
        png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
        fields = document_fields(bot.telegram.files, png, "shot.png", "image/png", "and this?")
        bot.telegram.send_private_update(PRIVATE, fields)
        await answer_in(bot, PRIVATE)
        url = bot.model.requests[-1].messages[-1]["content"][1]["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")

    async def test_big_image_file_is_refused(self, bot: RunningBot, logs: LogCapture) -> None:
        """An image file over IMAGE_CACHE_MAX_BYTES: told to send it as a photo; no download."""
        fields = document_fields(
            bot.telegram.files, JPEG, "big.jpg", "image/jpeg", size=3 * 1024 * 1024
        )
        bot.telegram.send_private_update(PRIVATE, fields)
        assert "Send it as a photo instead" in await answer_in(bot, PRIVATE)
        (refused,) = await logs.wait_for("media_refused")
        assert refused["reason"] == "media_too_large" and bot.telegram.files.downloads == []

    async def test_follow_ups_see_the_image_then_a_placeholder(self, bot: RunningBot) -> None:
        """Images stay for IMAGE_CONTEXT_TURNS follow-ups, then only a placeholder remains
        (the stored question says an image was there); the photo is downloaded once."""
        bot.telegram.send_private_update(PRIVATE, _photo(bot, "A car"))
        await answer_in(bot, PRIVATE, 1)
        for n, question in enumerate(["what colour?", "and the wheels?", "and now?"], start=2):
            bot.telegram.send_private_text(PRIVATE, question)
            await answer_in(bot, PRIVATE, n)
        requests = bot.model.requests
        assert [len(images_in(r)) for r in requests] == [1, 1, 1, 0]
        history = requests[-1].messages[1]
        assert text_of(history) == "[an image] A car\n[the image is no longer in view]"
        assert len(bot.telegram.files.downloads) == 1


class TestAlbum:
    ENV: ClassVar[dict[str, str]] = VISION

    async def test_album_is_one_question(self, bot: RunningBot, logs: LogCapture) -> None:
        """Three photos with one media_group_id: one request with the three images, one answer."""
        for n in range(3):
            caption = "Compare these" if n == 0 else None
            sizes = [(f"photo {n}".encode() + JPEG, 800, 600)]
            fields = {**photo_fields(bot.telegram.files, sizes, caption), "media_group_id": "G1"}
            bot.telegram.send_private_update(PRIVATE, fields)
        assert await answer_in(bot, PRIVATE) == "echo: [3 images] Compare these"
        await logs.wait_for("reply_finished")
        assert len(bot.model.requests) == 1
        assert images_in(bot.model.requests[0]) == [f"photo {n}".encode() + JPEG for n in range(3)]
        assert len(bot.telegram.messages(PRIVATE)) == 1

    async def test_album_counts_once_against_the_rate_limit(self, bot: RunningBot) -> None:
        """An album of four photos is one message for RATE_LIMIT_MESSAGES (here 2)."""
        await bot.restart(RATE_LIMIT_MESSAGES="2")
        for n in range(4):
            sizes = [(f"p{n}".encode() + JPEG, 800, 600)]
            fields = {**photo_fields(bot.telegram.files, sizes, "All?"), "media_group_id": "R1"}
            bot.telegram.send_private_update(PRIVATE, fields)
        assert await answer_in(bot, PRIVATE) == "echo: [4 images] All?"
        bot.telegram.send_private_text(PRIVATE, "one more")
        assert await answer_in(bot, PRIVATE, 2) == "echo: one more"

    async def test_restart_while_an_album_arrives(self, bot: RunningBot, logs: LogCapture) -> None:
        """The bot stops before an album is complete: after the restart the album's turn is
        answered once, with the photos stored."""
        await bot.restart(SHUTDOWN_GRACE_SECONDS="0.1")
        for n in range(2):
            sizes = [(f"photo {n}".encode() + JPEG, 800, 600)]
            fields = {**photo_fields(bot.telegram.files, sizes, "Both?"), "media_group_id": "G9"}
            bot.telegram.send_private_update(PRIVATE, fields)
        await until(lambda: stored_attachments(bot) == 2, "both photos stored")
        await bot.stop()  # within the album's window: nothing answered yet
        assert bot.telegram.messages(PRIVATE) == [] and bot.telegram.files.downloads == []
        await bot.start()
        assert await answer_in(bot, PRIVATE, timeout=20) == "echo: [2 images] Both?"
        await quiet_for(bot)
        assert len(bot.telegram.messages(PRIVATE)) == 1 and len(bot.model.requests) == 1

    async def test_album_in_a_group(self, bot: RunningBot) -> None:
        """In a group the album's caption mentions the bot on its first photo only: the
        other photos still join its one question; an album not for the bot is ignored."""
        chat = {"id": GROUP, "type": "supergroup", "title": "G"}
        user = {"id": 7, "is_bot": False, "first_name": "Bob"}
        files = bot.telegram.files
        for n, group in [(0, "IGNORED"), (1, "IGNORED"), (0, "G2"), (1, "G2")]:
            caption = "@test_llm_bot which is older?" if (n, group) == (0, "G2") else None
            sizes = [(f"{group} {n}".encode() + JPEG, 800, 600)]
            fields = {**photo_fields(files, sizes, caption), "media_group_id": group}
            if caption:
                fields["caption_entities"] = [{"type": "mention", "offset": 0, "length": 13}]
            bot.telegram.push_message(chat, user, **fields)
        assert await answer_in(bot, GROUP) == "echo: Bob: [2 images] which is older?"
        assert images_in(bot.model.requests[0]) == [b"G2 0" + JPEG, b"G2 1" + JPEG]


class TestNoVision:
    async def test_told_which_models_can_see(self, bot: RunningBot, logs: LogCapture) -> None:
        """A model outside VISION_MODELS: no model call, the user is told which configured
        models can see images; the photo is kept (stored with the failed turn)."""
        await bot.restart(VISION_MODELS="big-model")
        bot.telegram.send_private_update(PRIVATE, _photo(bot, "what is it?"))
        text = await answer_in(bot, PRIVATE)
        assert "can't see images" in text and "big-model" in text
        assert bot.model.requests == []
        assert bot.telegram.files.downloads == []
        (failed,) = await logs.wait_for("reply_finished")
        assert failed["error_type"] == "vision_unsupported"

    async def test_provider_refusing_images(self, bot: RunningBot) -> None:
        """The provider rejects the image parts (400): the user is told about images."""
        from tests.fakes.openai import Error

        await bot.restart(VISION_MODELS="gpt-test,big-model")
        bot.model.script(Error(400, "Invalid content type: image_url is not supported."))
        bot.telegram.send_private_update(PRIVATE, _photo(bot, "what is it?"))
        text = await answer_in(bot, PRIVATE)
        assert "can't see images" in text and "big-model" in text
        await until(lambda: len(bot.model.requests) == 1, "one request")
