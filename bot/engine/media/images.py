"""Images for a model: which Telegram photo size to send, and the OpenAI content parts.

Telegram sends every photo in several sizes (thumbnails up to 1280 or 2560 pixels); vision
models scale anything larger than about 2048 pixels down (OpenAI: to fit 2048x2048, then 768
on the short side), so the largest size within IMAGE_MAX_SIDE carries all the detail a model
uses, and no image library is needed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
IMAGE_TOKENS = 800  # a budget estimate per image (OpenAI: 85 + 170 per 512 px tile)
PLACEHOLDER = "[the image is no longer in view]"
_MARK = re.compile(r"^\[(an image|\d+ images)\]")


def marked(question: str, count: int) -> str:
    """The question as stored: "[an image] caption", "[3 images] caption"."""
    mark = "[an image]" if count == 1 else f"[{count} images]"
    return f"{mark} {question}" if question else mark


def is_marked(question: str) -> bool:
    return _MARK.match(question) is not None


@dataclass(frozen=True)
class Size:
    """One size of a photo, as the channel offers it."""

    file_id: str
    width: int
    height: int
    file_size: int | None = None


def best_size(sizes: Sequence[Size], max_side: int) -> Size:
    """The largest size whose longer side is within `max_side` (else the smallest one)."""
    fitting = [s for s in sizes if max(s.width, s.height) <= max_side]
    if fitting:
        return max(fitting, key=lambda s: s.width * s.height)
    return min(sizes, key=lambda s: s.width * s.height)


def sniff_type(data: bytes, announced: str | None = None) -> str:
    """The image's MIME type from its first bytes (Telegram photos are JPEG)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return announced if announced in IMAGE_TYPES else "image/jpeg"


def image_part(data: bytes, mime_type: str | None = None) -> dict[str, Any]:
    """An OpenAI `image_url` content part carrying the image as a base64 data URL."""
    encoded = base64.b64encode(data).decode("ascii")
    url = f"data:{sniff_type(data, mime_type)};base64,{encoded}"
    return {"type": "image_url", "image_url": {"url": url}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}
