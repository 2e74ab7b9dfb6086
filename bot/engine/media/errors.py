"""What can go wrong with a file a user sent, each with the short answer the user gets.

They are `ModelError`s so that a turn that cannot be prepared fails the way one the model
cannot answer does: marked failed, its outcome logged, the user told in one line.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.engine.errors import ModelError


class MediaError(ModelError):
    """A file could not be turned into something the model can read."""

    error_type = "media"
    user_message = "I couldn't read that file. Please try again, or send the question as text."


class TooLarge(MediaError):
    error_type = "media_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__("too large")
        megabytes = limit_bytes // (1024 * 1024)
        self.user_message = (
            f"That file is too large for me: bots can download files up to {megabytes} MB."
        )


class ImageTooLarge(TooLarge):
    """An image file over IMAGE_CACHE_MAX_BYTES (images are kept with the turn)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(limit_bytes)
        size = f"{limit_bytes / (1024 * 1024):g} MB"
        self.user_message = (
            f"That image file is larger than the {size} I take. Send it as a photo instead "
            "(Telegram makes it smaller), or a smaller file."
        )


class TooLong(MediaError):
    error_type = "media_too_long"

    def __init__(self, limit_seconds: int) -> None:
        super().__init__("too long")
        minutes = limit_seconds / 60
        shown = f"{minutes:g} minutes" if limit_seconds >= 60 else f"{limit_seconds} seconds"
        self.user_message = f"That recording is too long for me: I listen to at most {shown}."


class Unsupported(MediaError):
    error_type = "media_unsupported"
    user_message = (
        "I can't read this kind of file. I read text files (txt, md, csv, json, code…), PDFs, "
        "images, voice notes and audio."
    )


class NoText(MediaError):
    error_type = "document_no_text"
    user_message = (
        "I found no text in this PDF (it may be scanned images or protected by a password). "
        "Send it as photos, or a PDF with selectable text."
    )


class Undecodable(MediaError):
    error_type = "document_undecodable"
    user_message = "I couldn't make out the text of this file: its encoding is not one I know."


class DownloadFailed(MediaError):
    error_type = "media_download"
    user_message = "I couldn't download that file from Telegram. Please send it again."


class TranscriptionFailed(MediaError):
    error_type = "transcription"
    user_message = (
        "I couldn't transcribe that voice message just now. Send /retry in a minute, or type "
        "your question."
    )


class CannotSeeImages(MediaError):
    """The chat's model takes no images; `able` are the configured models that do."""

    error_type = "vision_unsupported"

    def __init__(self, model: str, able: Sequence[str]) -> None:
        super().__init__("no vision")
        if able:
            choices = ", ".join(able)
            self.user_message = (
                f"The model {model} can't see images. Models here that can: {choices}. "
                "Switch with /model, then send /retry: your image is kept."
            )
        else:
            self.user_message = (
                f"The model {model} can't see images, and none of the models configured here "
                "can. Please describe the image in words."
            )


class MediaDisabled(MediaError):
    error_type = "media_disabled"
    user_message = "I can only read text messages for now. Please send your question as text."


class NothingHeard(MediaError):
    error_type = "transcription_empty"
    user_message = "I couldn't hear any words in that recording. Please try again, or type it."
