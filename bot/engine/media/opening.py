"""The media feature as the composition root opens it: its audio clients and policy."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Endpoint, Settings
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.media.audio import AudioClient
from bot.engine.media.policy import MediaPolicy
from bot.engine.media.service import Media
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
) -> Media | None:
    """The media feature, or None when MEDIA_ENABLED=false (text only, as before)."""
    media = settings.media
    if not media.media_enabled:
        return None
    key = media.transcription_api_key
    audio = audio_client(
        settings,
        endpoint,
        media.transcription_base_url,
        key.get_secret_value() if key else None,
        events,
    )
    stack.push_async_callback(audio.close)
    policy = MediaPolicy.from_settings(media, settings.conversation.max_context_tokens)
    capabilities = CapabilityMap(vision=settings.model.vision_models)
    models = [*endpoint.models, settings.model.fallback_model or ""]
    return Media(stores.attachments, policy, audio=audio, capabilities=capabilities, models=models)
