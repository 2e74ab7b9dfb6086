"""What the media feature may do, from MediaSettings: sizes, lengths, how long images stay."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import MediaSettings


@dataclass(frozen=True)
class MediaPolicy:
    enabled: bool = True
    max_bytes: int = 20 * 1024 * 1024  # Telegram's bot download limit
    download_timeout: float = 60.0
    voice_max_seconds: int = 300
    image_max_side: int = 2048
    image_max_bytes: int = 2 * 1024 * 1024  # images are kept with the turn up to this
    image_context_turns: int = 3
    document_max_tokens: int = 8_000
    transcription_model: str = "whisper-1"

    @classmethod
    def from_settings(cls, media: MediaSettings, max_context_tokens: int) -> MediaPolicy:
        """DOCUMENT_MAX_TOKENS defaults to a quarter of MAX_CONTEXT_TOKENS."""
        return cls(
            enabled=media.media_enabled,
            max_bytes=media.media_max_bytes,
            download_timeout=media.media_download_timeout,
            voice_max_seconds=media.voice_max_seconds,
            image_max_side=media.image_max_side,
            image_max_bytes=media.image_cache_max_bytes,
            image_context_turns=media.image_context_turns,
            document_max_tokens=media.document_max_tokens or max(100, max_context_tokens // 4),
            transcription_model=media.transcription_model,
        )
