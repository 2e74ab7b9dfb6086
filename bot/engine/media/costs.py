"""What transcription (per minute) and speech (per character) cost, recorded as usage so that
/stats, /usage and the budgets count them like model requests.

Default prices are OpenAI's list prices (USD); TRANSCRIPTION_PRICES / TTS_PRICES override or
add models (`model=price`, per minute or per million characters).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.records import Usage
from bot.storage.repositories import UsageRepository

log = get_logger(__name__)

# USD per minute of audio.
TRANSCRIPTION_PRICES: dict[str, float] = {
    "whisper-1": 0.006,
    "gpt-4o-transcribe": 0.006,
    "gpt-4o-mini-transcribe": 0.003,
}
# USD per million characters.
SPEECH_PRICES: dict[str, float] = {
    "tts-1": 15.0,
    "tts-1-hd": 30.0,
    "gpt-4o-mini-tts": 12.0,  # OpenAI bills it by tokens; about this per million characters
}


class MediaCosts:
    """Records each transcription and speech as a usage row of the chat and the user."""

    def __init__(
        self,
        usage: UsageRepository,
        *,
        transcription: Mapping[str, float] = TRANSCRIPTION_PRICES,
        speech: Mapping[str, float] = SPEECH_PRICES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._usage = usage
        self._transcription = {**TRANSCRIPTION_PRICES, **transcription}
        self._speech = {**SPEECH_PRICES, **speech}
        self._clock = clock

    async def heard(self, chat_key: str, user_id: str | None, model: str, seconds: int) -> None:
        """A transcription of `seconds` of audio (billed per started second, as OpenAI does)."""
        price = self._transcription.get(model)
        cost = None if price is None else round(price * max(seconds, 1) / 60, 6)
        await self._record(chat_key, user_id, Usage(model, 0, 0, cost))

    async def spoke(self, chat_key: str, user_id: str | None, model: str, chars: int) -> None:
        """Speech of `chars` characters."""
        price = self._speech.get(model)
        cost = None if price is None else round(price * chars / 1_000_000, 6)
        await self._record(chat_key, user_id, Usage(model, 0, 0, cost))

    async def _record(self, chat_key: str, user_id: str | None, usage: Usage) -> None:
        try:
            await self._usage.record(chat_key, usage, now=self._clock(), user_id=user_id)
        except StorageError as exc:  # the user has what they asked for; the figure is lost
            log.warning("media_usage_unrecorded", model=usage.model, error=str(exc))
