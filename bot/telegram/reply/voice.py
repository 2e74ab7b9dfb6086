"""/voice: after the text answer, the same answer as a Telegram voice message (Ogg/Opus).

The text is always delivered first; speaking or sending the voice failing costs the user
nothing but the voice (logged once)."""

from __future__ import annotations

from telegram import Bot
from telegram.error import TelegramError

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.records import Turn
from bot.telegram.reply.delivery import with_retries
from bot.telegram.reply.services import Services

log = get_logger(__name__)


async def speak_answer(
    bot: Bot, svc: Services, turn: Turn, text: str, *, chat_id: int, thread_id: int | None
) -> None:
    """Send the answer read aloud when the chat turned /voice on."""
    voice = None if svc.media is None else svc.media.voice
    try:
        if voice is None or not await voice.on(turn.chat_id):
            return
    except StorageError as exc:
        log.warning("voice_reply_unsent", error=str(exc))
        return
    audio = await voice.speak(turn.chat_id, turn.user_id, text)
    if audio is None:
        return
    try:
        await with_retries(
            lambda: bot.send_voice(chat_id, voice=audio, message_thread_id=thread_id),
            max_wait=svc.telegram.flood_wait_max,
        )
    except TelegramError as exc:
        log.warning("voice_reply_unsent", error=type(exc).__name__)
