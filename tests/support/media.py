"""Helpers of the media tests: the image parts and texts a chat request carried."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.openai import ChatRequest

JPEG = b"\xff\xd8\xff\xe0" + b"fake jpeg " * 20  # starts like a JPEG: sniffed as image/jpeg


def image_urls(message: dict[str, Any]) -> list[str]:
    """The data URLs of a message's image parts."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]


def images_in(request: ChatRequest) -> list[bytes]:
    """Every image a chat request carried, decoded, in order."""
    found = []
    for message in request.messages:
        for url in image_urls(message):
            found.append(base64.b64decode(url.partition(";base64,")[2]))
    return found


def text_of(message: dict[str, Any]) -> str:
    """A message's text, whether its content is a string or parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")
