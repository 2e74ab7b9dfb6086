"""End to end: /voice sends each answer also as a voice message (Ogg/Opus via sendVoice); a
speech failure still delivers the text."""

from __future__ import annotations

from typing import ClassVar

from tests.fakes.openai import Error
from tests.fakes.openai_audio import OGG_OPUS
from tests.fakes.telegram import UploadedFile
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for


def voices(bot: RunningBot) -> list[UploadedFile]:
    """The voice messages the bot sent to the private chat."""
    found = []
    for call in bot.telegram.calls_of("sendVoice", chat_id=PRIVATE):
        upload = call.files["voice"]
        found.append(upload)
    return found


class TestVoiceReplies:
    ENV: ClassVar[dict[str, str]] = {"TTS_MAX_CHARS": "60", "TTS_VOICE": "nova"}

    async def test_on_then_off(self, bot: RunningBot, logs: LogCapture) -> None:
        """/voice on: the answer comes as text, then as Ogg/Opus voice (tts-1, the voice
        configured, at most TTS_MAX_CHARS read); /voice off: text only."""
        bot.telegram.send_private_text(PRIVATE, "/voice")
        assert "Voice replies are on" in await answer_in(bot, PRIVATE)
        long = "Short first sentence here. " + "then a lot more words " * 10
        bot.telegram.send_private_text(PRIVATE, long)
        assert (await answer_in(bot, PRIVATE, 2)).startswith("echo: Short first")
        await logs.wait_for("voice_reply_sent")
        (speech,) = bot.model.audio.speeches
        assert speech.fields["model"] == "tts-1" and speech.fields["voice"] == "nova"
        assert speech.fields["response_format"] == "opus"
        assert speech.fields["input"] == "echo: Short first sentence here."
        await bot.telegram.wait_for_call("sendVoice")
        (sent,) = voices(bot)
        assert sent.content.startswith(OGG_OPUS)
        bot.telegram.send_private_text(PRIVATE, "/voice")
        assert "Voice replies are off" in await answer_in(bot, PRIVATE, 4)
        bot.telegram.send_private_text(PRIVATE, "quiet now")
        await answer_in(bot, PRIVATE, 5)
        await quiet_for(bot)
        assert len(bot.model.audio.speeches) == 1

    async def test_speech_failure_keeps_the_text(self, bot: RunningBot, logs: LogCapture) -> None:
        """The speech service failing (400): the text answer is delivered, the failure is
        logged once, no voice is sent."""
        bot.telegram.send_private_text(PRIVATE, "/voice")
        await answer_in(bot, PRIVATE)
        bot.model.audio.script(Error(400, "bad voice"))
        bot.telegram.send_private_text(PRIVATE, "hello")
        assert await answer_in(bot, PRIVATE, 2) == "echo: hello"
        (failed,) = await logs.wait_for("speech_failed")
        assert failed["error_type"] == "BadRequestError"
        await quiet_for(bot)
        assert voices(bot) == [] and len(logs.named("speech_failed")) == 1
        (finished,) = logs.named("reply_finished")
        assert finished["outcome"] == "answered"
