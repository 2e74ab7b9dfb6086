"""The media section: defaults, prices, and its secrets kept out of sight."""

from __future__ import annotations

import pytest

from bot.config import ENV_NAMES, ConfigError, Settings, load_settings


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-main")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(require_telegram=False, env_file=None)


class TestMediaSettings:
    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The issue's defaults: whisper-1, tts-1 with alloy, 300 s, 2000 characters, 3 turns."""
        media = _load(monkeypatch).media
        assert (media.transcription_model, media.tts_model, media.tts_voice) == (
            "whisper-1",
            "tts-1",
            "alloy",
        )
        assert (media.voice_max_seconds, media.tts_max_chars, media.image_context_turns) == (
            300,
            2000,
            3,
        )
        assert media.media_enabled and media.document_max_tokens is None

    def test_prices_and_secrets(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Prices parse as model=price; the audio keys are secrets, redacted in logs."""
        settings = _load(
            monkeypatch,
            TRANSCRIPTION_PRICES="local-whisper=0, whisper-1=0.01",
            TRANSCRIPTION_API_KEY="sk-audio-SECRET",
            TTS_API_KEY="sk-tts-SECRET",
        )
        assert settings.media.transcription_prices == {"local-whisper": 0.0, "whisper-1": 0.01}
        assert "sk-audio-SECRET" not in repr(settings)
        assert {"sk-audio-SECRET", "sk-tts-SECRET"} <= set(settings.secrets())

    def test_bad_price_is_reported(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A price that is not model=number is reported in plain words."""
        with pytest.raises(ConfigError) as raised:
            _load(monkeypatch, TTS_PRICES="tts-1=cheap")
        assert any(p.startswith("TTS_PRICES:") for p in raised.value.problems)
