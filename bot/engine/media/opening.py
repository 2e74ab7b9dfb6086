"""The media feature as the composition root opens it: its audio clients and policy."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from pydantic import SecretStr

from bot.config import Endpoint, Settings
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.media.audio import AudioClient
from bot.engine.media.costs import MediaCosts
from bot.engine.media.policy import MediaPolicy
from bot.engine.media.service import Media
from bot.engine.media.speech import VoiceReplies
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.models.retrying import RetryPolicy
from bot.storage.repositories import Stores


def audio_client(
    settings: Settings,
    endpoint: Endpoint,
    base_url: str | None,
    api_key: str | None,
    events: EngineEvents,
) -> AudioClient:
    """A client of the audio endpoint (the chat provider's unless set), retried like chat."""
    model = settings.model
    fallback_key = endpoint.api_key.get_secret_value() if endpoint.api_key else None
    return AudioClient(
        api_key=api_key or fallback_key or "not-needed",
        base_url=base_url or endpoint.base_url,
        timeout=model.openai_timeout,
        retry=RetryPolicy(
            max_retries=model.openai_max_retries, max_seconds=model.openai_retry_max_seconds
        ),
        events=events,
    )


async def open_media(
    settings: Settings,
    stores: Stores,
    endpoint: Endpoint,
    stack: AsyncExitStack,
    *,
    events: EngineEvents = NO_EVENTS,
    clock: Callable[[], float] = time.time,
    capabilities: CapabilityMap | None = None,
) -> Media | None:
    """The media feature, or None when MEDIA_ENABLED=false; `capabilities`: the catalogue's."""
    media = settings.media
    if not media.media_enabled:
        return None
    audio = audio_client(
        settings,
        endpoint,
        media.transcription_base_url,
        _plain(media.transcription_api_key),
        events,
    )
    stack.push_async_callback(audio.close)
    speaker = audio_client(
        settings, endpoint, media.tts_base_url, _plain(media.tts_api_key), events
    )
    stack.push_async_callback(speaker.close)
    costs = MediaCosts(
        stores.usage,
        transcription=media.transcription_prices,
        speech=media.tts_prices,
        clock=clock,
    )
    voice = VoiceReplies(
        stores.chat_media,
        speaker,
        costs,
        model=media.tts_model,
        voice=media.tts_voice,
        max_chars=media.tts_max_chars,
    )
    policy = MediaPolicy.from_settings(media, settings.conversation.max_context_tokens)
    return Media(
        stores.attachments,
        policy,
        audio=audio,
        capabilities=capabilities or CapabilityMap(vision=settings.model.vision_models),
        models=[*endpoint.models, settings.model.fallback_model or ""],
        costs=costs,
        voice=voice,
    )


def _plain(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret else None
