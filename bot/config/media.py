"""Media: voice notes, photos, documents in; answers read aloud (issue 15)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from bot.config.values import BlankIsUnset, OptionalSecret, Section, Url

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API's getFile limit for bots


def parse_unit_prices(value: object) -> object:
    """`whisper-1=0.006,my-whisper=0` -> {"whisper-1": 0.006, "my-whisper": 0.0}."""
    if not isinstance(value, str):
        return value
    prices = {}
    for item in (i.strip() for i in value.split(",") if i.strip()):
        name, sep, price = item.rpartition("=")
        try:
            prices[name.strip()] = float(price)
        except ValueError:
            name = ""
        if not (sep and name.strip()):
            raise ValueError(f"'{item}' is not of the form model=price")
    return prices


UnitPrices = Annotated[dict[str, float], NoDecode, BeforeValidator(parse_unit_prices)]


class MediaSettings(Section):
    """MEDIA_ENABLED, TRANSCRIPTION_*, VOICE_MAX_SECONDS, TTS_*, IMAGE_CONTEXT_TURNS,
    DOCUMENT_MAX_TOKENS, MEDIA_* bounds and prices."""

    media_enabled: bool = True  # false: photos, voice notes and files get the text-only note
    transcription_model: str = "whisper-1"
    transcription_base_url: Url = None  # default: the chat provider's
    transcription_api_key: OptionalSecret = None
    voice_max_seconds: int = Field(default=300, ge=1)
    tts_model: str = "tts-1"
    tts_voice: str = "alloy"
    tts_base_url: Url = None
    tts_api_key: OptionalSecret = None
    tts_max_chars: int = Field(default=2000, ge=1, le=4096)  # the speech API takes 4096
    image_context_turns: int = Field(default=3, ge=0)  # 0: only the question that sent it
    # Default (unset): a quarter of MAX_CONTEXT_TOKENS.
    document_max_tokens: Annotated[int | None, BlankIsUnset] = Field(default=None, ge=100)
    media_max_bytes: int = Field(default=TELEGRAM_DOWNLOAD_LIMIT, ge=1, le=TELEGRAM_DOWNLOAD_LIMIT)
    media_download_timeout: float = Field(default=60.0, gt=0)
    # The longest side an image is sent at (the largest Telegram photo size within it).
    image_max_side: int = Field(default=2048, ge=90)
    # Image bytes kept in the database with the turn (so follow-ups need no download).
    image_cache_max_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
    # Prices beyond the defaults (engine/media/costs.py): USD per minute / per 1M characters.
    transcription_prices: UnitPrices = Field(default_factory=dict)
    tts_prices: UnitPrices = Field(default_factory=dict)
