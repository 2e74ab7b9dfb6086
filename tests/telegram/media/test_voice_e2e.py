"""End to end: voice notes, audio files and video notes are transcribed and answered as if
typed; the transcript is shown; failures are told in one line and /retry works."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.openai import Block, Error, Hang
from tests.fakes.telegram_files import audio_fields, video_note_fields, voice_fields
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until


def transcript_shown(bot: RunningBot, chat: int = PRIVATE) -> tuple[str, str]:
    """The first message sent to the chat (the transcript) and its entity's type."""
    first = bot.telegram.messages(chat)[0]
    return first.text, first.entities[0]["type"]


class TestVoiceNote:
    async def test_answered_with_the_transcript_shown(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A voice note: transcribed (whisper-1, multipart), the transcript quoted to the user,
        then the answer to it; the model sees the words as the question."""
        fields = voice_fields(bot.telegram.files, b"what is the capital of France")
        started = time.monotonic()
        bot.telegram.send_private_update(PRIVATE, fields)
        assert await answer_in(bot, PRIVATE, 2) == "echo: what is the capital of France"
        assert transcript_shown(bot) == ("🎤 what is the capital of France", "blockquote")
        (request,) = bot.model.audio.transcriptions
        assert request.fields["model"] == "whisper-1" and request.filename == "voice.ogg"
        assert request.headers["Authorization"].startswith("Bearer sk-fake")
        assert bot.model.requests[-1].messages[-1]["content"] == "what is the capital of France"
        (event,) = await logs.wait_for("voice_transcribed")
        assert event["chars"] == len("what is the capital of France")
        assert request.finished_at is not None and request.finished_at - started < 10

    async def test_long_transcript_is_folded(self, bot: RunningBot) -> None:
        """A long transcript is shown as an expandable quote."""
        words = " ".join(["blah"] * 100)
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, words.encode()))
        await answer_in(bot, PRIVATE, 2)
        assert transcript_shown(bot)[1] == "expandable_blockquote"

    async def test_caption_goes_before_the_words(self, bot: RunningBot) -> None:
        """A caption on a voice note is asked together with the transcript."""
        fields = voice_fields(bot.telegram.files, b"the words", caption="Translate:")
        bot.telegram.send_private_update(PRIVATE, fields)
        await answer_in(bot, PRIVATE, 2)
        assert bot.model.requests[-1].messages[-1]["content"] == "Translate:\n\nthe words"

    async def test_audio_and_video_note(self, bot: RunningBot) -> None:
        """An audio file and a round video note are transcribed like a voice note."""
        bot.telegram.send_private_update(PRIVATE, audio_fields(bot.telegram.files, b"song words"))
        assert await answer_in(bot, PRIVATE, 2) == "echo: song words"
        bot.telegram.send_private_update(PRIVATE, video_note_fields(bot.telegram.files, b"hi"))
        assert await answer_in(bot, PRIVATE, 4) == "echo: hi"
        names = [r.filename for r in bot.model.audio.transcriptions]
        assert names == ["a.mp3", "video_note.mp4"]


class TestGroups:
    async def test_reply_to_the_bot_or_mention_in_caption(self, bot: RunningBot) -> None:
        """In a group, a voice note replying to the bot or mentioning it is answered; one that
        does neither is not even downloaded."""
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hello", 7)
        await answer_in(bot, GROUP, 1)
        answer = bot.telegram.messages(GROUP)[0]
        chat = {"id": GROUP, "type": "supergroup", "title": "G"}
        user = {"id": 7, "is_bot": False, "first_name": "Bob"}
        files = bot.telegram.files
        bot.telegram.push_message(chat, user, **voice_fields(files, b"not for you"))
        bot.telegram.push_message(
            chat,
            user,
            **voice_fields(files, b"reply words"),
            reply_to_message=bot.telegram.message_ref(GROUP, answer),
        )
        assert await answer_in(bot, GROUP, 3) == "echo: Bob: reply words"
        mention = voice_fields(files, b"caption words", caption="@test_llm_bot listen")
        bot.telegram.push_message(
            chat, user, **mention, caption_entities=[{"type": "mention", "offset": 0, "length": 13}]
        )
        assert await answer_in(bot, GROUP, 5) == "echo: Bob: listen\n\ncaption words"
        assert len(files.downloads) == 2


class TestRefused:
    async def test_too_long_is_not_downloaded(self, bot: RunningBot, logs: LogCapture) -> None:
        """A voice note over VOICE_MAX_SECONDS: one short answer, no download, no turn."""
        fields = voice_fields(bot.telegram.files, b"long", duration=301)
        bot.telegram.send_private_update(PRIVATE, fields)
        assert "too long" in await answer_in(bot, PRIVATE)
        (refused,) = await logs.wait_for("media_refused")
        assert refused["reason"] == "media_too_long"
        assert bot.telegram.files.downloads == [] and stored_turns(bot) == []
        assert bot.model.audio.transcriptions == []

    async def test_too_large_is_not_downloaded(self, bot: RunningBot, logs: LogCapture) -> None:
        """An audio file over Telegram's 20 MB bot limit: told so, nothing downloaded."""
        fields = audio_fields(bot.telegram.files, b"x")
        fields["audio"]["file_size"] = 25 * 1024 * 1024
        bot.telegram.send_private_update(PRIVATE, fields)
        assert "20 MB" in await answer_in(bot, PRIVATE)
        (refused,) = await logs.wait_for("media_refused")
        assert refused["reason"] == "media_too_large"
        assert bot.telegram.files.downloads == []


class TestTranscriptionFailures:
    async def test_5xx_is_retried(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 503 from the transcription service is retried like the chat model."""
        bot.model.audio.script(Error(503, "overloaded"))
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"again"))
        assert await answer_in(bot, PRIVATE, 2, timeout=20) == "echo: again"
        assert len(bot.model.audio.transcriptions) == 2
        assert logs.named("model_retry")[0]["model"] == "whisper-1"

    async def test_4xx_then_retry(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 400: a short human message, the turn failed with its voice note kept; /retry
        transcribes it again and answers."""
        bot.model.audio.script(Error(400, "bad audio"))
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"words"))
        assert "couldn't transcribe" in await answer_in(bot, PRIVATE)
        (failed,) = await logs.wait_for("reply_finished")
        assert failed["error_type"] == "transcription"
        assert logs.named("transcription_failed")[0]["error_type"] == "BadRequestError"
        assert stored_turns(bot) == [("", "failed", "transcription")]
        bot.telegram.send_private_text(PRIVATE, "/retry")
        assert await answer_in(bot, PRIVATE, 3) == "echo: words"
        assert bot.model.audio.transcriptions[-1].content == b"words"

    async def test_timeout(self, bot: RunningBot) -> None:
        """A transcription that hangs past OPENAI_TIMEOUT, retries included: a human message."""
        await bot.restart(OPENAI_TIMEOUT="0.5", OPENAI_MAX_RETRIES="1")
        bot.model.audio.script(Hang(5), Hang(5))
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"slow"))
        assert "couldn't transcribe" in await answer_in(bot, PRIVATE, timeout=20)
        assert len(bot.model.audio.transcriptions) == 2


class TestRestart:
    async def test_restart_mid_transcription_answers_once(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """The bot stops while the voice note is being transcribed: after the restart it is
        transcribed again and answered exactly once."""
        await bot.restart(SHUTDOWN_GRACE_SECONDS="0.2")
        held = asyncio.Event()
        bot.model.audio.script(Block(held))
        bot.telegram.send_private_update(PRIVATE, voice_fields(bot.telegram.files, b"hello"))
        await until(lambda: len(bot.model.audio.transcriptions) == 1, "transcription asked")
        await bot.stop()
        held.set()
        await bot.start()
        assert await answer_in(bot, PRIVATE, 2, timeout=20) == "echo: hello"
        await quiet_for(bot)
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert texts == ["🎤 hello", "echo: hello"]
        assert stored_turns(bot) == [("hello", "answered", None)]
