"""Reading Bot API parameters from query strings, JSON, urlencoded and multipart bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from tests.fakes._tg_models import ApiCall, UploadedFile, bad_request
from tests.fakes._tg_state import TelegramState

# Form fields that are plain strings even when they look like JSON ("123", "true").
# PTB sends every other non-string value JSON-encoded inside the form field.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "url", "secret_token", "callback_query_id",
        "inline_message_id", "action", "language_code", "title", "description",
        "short_description", "name", "query", "ip_address", "message_effect_id",
        "business_connection_id", "emoji", "custom_title", "file_id", "document", "photo",
        "audio", "video", "voice", "sticker", "animation", "thumbnail",
    }
)  # fmt: skip


def decode_form_value(name: str, value: str) -> Any:
    """A form field as its JSON value, except for the known plain string fields."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode a Bot API request's parameters and uploaded files."""
    params: dict[str, Any] = {k: decode_form_value(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type == "application/json" and request.body_exists:
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON body") from None
        if not isinstance(body, dict):
            raise bad_request("the JSON body must be an object")
        params.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                mime = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                files[part.name] = UploadedFile(part.filename, bytes(await part.read()), mime)
            else:
                params[part.name] = decode_form_value(part.name, await part.text())
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        params.update({k: decode_form_value(k, v) for k, v in form.items() if isinstance(v, str)})
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files[value[9:]]
    return params, files


def required(call: ApiCall, name: str) -> Any:
    """A required parameter, or 400 '<name> is empty'."""
    value = call.params.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    return value


def int_param(call: ApiCall, name: str) -> int:
    """A required integer parameter."""
    value = required(call, name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def chat_id_of(state: TelegramState, call: ApiCall) -> int:
    """The target chat id; '@username' resolves among known chats, else 400 chat not found."""
    value = required(call, "chat_id")
    if isinstance(value, str) and value.startswith("@"):
        for chat_id, chat in state.chats.items():
            if chat.get("username") == value[1:]:
                return chat_id
        raise bad_request("chat not found")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("chat not found") from None
