"""Speech to text and text to speech through the openai SDK (`audio.transcriptions`,
`audio.speech`), against any OpenAI-compatible server: the chat provider's by default, or a
local one (TRANSCRIPTION_BASE_URL / TTS_BASE_URL). Retried like chat requests."""

from __future__ import annotations

import time

from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.media import errors
from bot.engine.models.retrying import RetryPolicy, retrying
from bot.engine.models.sdk import LazySdk, sdk_errors
from bot.observability.logs import get_logger

log = get_logger(__name__)


class AudioClient:
    """One OpenAI-compatible endpoint's audio API."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        retry: RetryPolicy,
        events: EngineEvents = NO_EVENTS,
    ) -> None:
        self._client = LazySdk(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self._retry = retry
        self._events = events

    async def close(self) -> None:
        await self._client.close()

    async def transcribe(self, data: bytes, *, filename: str, model: str) -> str:
        """The recording's words; raises TranscriptionFailed once retries gave up."""
        started = time.monotonic()
        try:
            async for attempt in retrying(self._retry, model, [], self._events):
                with attempt:
                    result = await self._client().audio.transcriptions.create(
                        model=model, file=(filename, data), response_format="json"
                    )
        except sdk_errors() as exc:
            log.warning("transcription_failed", model=model, error_type=type(exc).__name__)
            raise errors.TranscriptionFailed() from exc
        text = str(getattr(result, "text", "") or "").strip()
        log.info(
            "voice_transcribed",
            model=model,
            latency_ms=round((time.monotonic() - started) * 1000),
            chars=len(text),
        )
        return text

    async def speak(self, text: str, *, model: str, voice: str) -> bytes:
        """The text read aloud as Ogg/Opus (what Telegram plays as a voice message); raises
        the SDK's errors once retries gave up (the caller logs and goes on without voice)."""
        async for attempt in retrying(self._retry, model, [], self._events):
            with attempt:
                response = await self._client().audio.speech.create(
                    model=model, voice=voice, input=text, response_format="opus"
                )
                return response.content
        raise AssertionError("unreachable: tenacity either returns or raises")
