"""/voice: a chat's answers also read aloud (TTS through `audio.speech`), and what it costs.

Speaking never stands in the way of an answer: the text is delivered first and always; a
failure to speak is logged once and the user keeps the text.
"""

from __future__ import annotations

import re

from bot.engine.conversation import identity
from bot.engine.media.audio import AudioClient
from bot.engine.media.costs import MediaCosts
from bot.engine.models.sdk import sdk_errors
from bot.observability.logs import get_logger
from bot.storage.repositories import ChatMediaRepository

log = get_logger(__name__)

_MARKUP = re.compile(r"```.*?```|[*_`#>|~]|\[([^\]]*)\]\([^)]*\)", re.DOTALL)


def speakable(markdown: str, max_chars: int) -> str:
    """The answer as it is read aloud: without Markdown marks or code blocks, cut after the
    last sentence within `max_chars`."""
    text = _MARKUP.sub(lambda m: m.group(1) or "", markdown)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return text
    kept = text[:max_chars]
    end = max(kept.rfind(". "), kept.rfind("! "), kept.rfind("? "))
    return kept[: end + 1] if end > max_chars // 2 else kept


class VoiceReplies:
    """Which chats hear their answers, and the speaking itself."""

    def __init__(
        self,
        chats: ChatMediaRepository,
        audio: AudioClient,
        costs: MediaCosts,
        *,
        model: str,
        voice: str,
        max_chars: int,
    ) -> None:
        self._chats = chats
        self._audio = audio
        self._costs = costs
        self._model, self._voice, self._max_chars = model, voice, max_chars

    async def on(self, chat_key: str) -> bool:
        """Whether the chat (or topic) of a conversation key asked for spoken answers."""
        return await self._chats.voice_replies(identity.base_key(chat_key))

    async def toggle(self, chat_key: str) -> bool:
        """Switch spoken answers on or off for the chat; whether they are on now."""
        base = identity.base_key(chat_key)
        now_on = not await self._chats.voice_replies(base)
        await self._chats.set_voice_replies(base, now_on)
        return now_on

    async def speak(self, chat_key: str, user_id: str | None, answer: str) -> bytes | None:
        """The answer read aloud (Ogg/Opus), its cost recorded; None when it has nothing to
        say or speaking failed (logged once)."""
        text = speakable(answer, self._max_chars)
        if not text:
            return None
        try:
            audio = await self._audio.speak(text, model=self._model, voice=self._voice)
        except sdk_errors() as exc:
            log.warning("speech_failed", model=self._model, error_type=type(exc).__name__)
            return None
        await self._costs.spoke(chat_key, user_id, self._model, len(text))
        log.info("voice_reply_sent", chars=len(text), bytes=len(audio))
        return audio
