"""Plain records of the fake Telegram server: calls, sent messages, drafts, files, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    """One Bot API request as the fake received it (params decoded, files separate)."""

    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    answered_at: float | None = None  # when the fake produced its successful answer
    content_type: str = ""  # of the request's body ("" without one)

    @property
    def chat_id(self) -> Any:
        """The chat_id parameter, if any."""
        return self.params.get("chat_id")

    @property
    def thread_id(self) -> int | None:
        """The message_thread_id parameter (the topic the call was aimed at), if any."""
        value = self.params.get("message_thread_id")
        return None if value is None else int(value)


@dataclass
class SentMessage:
    """A message the bot sent: its text as the user sees it, and its entities."""

    chat_id: int
    message_id: int
    date: int
    text: str
    entities: list[dict[str, Any]]
    reply_to_message_id: int | None
    reply_markup: dict[str, Any] | None
    edits: list[str] = field(default_factory=list)  # the plain text of each successful edit
    document: UploadedFile | str | None = None  # an upload, or a file_id / URL string
    file_id: str | None = None  # the file_id the fake gave the document
    deleted: bool = False
    edit_date: int | None = None
    thread_id: int | None = None  # the topic it was sent into (None: no topic / General)


@dataclass
class Draft:
    """One sendMessageDraft call that the fake accepted."""

    chat_id: int
    draft_id: int
    text: str
    entities: list[dict[str, Any]]
    at: float
    thread_id: int | None = None


@dataclass
class Fault:
    """A queued error answer for the next matching calls."""

    method: str
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | str | None
    drop_connection: bool

    def matches(self, call: ApiCall) -> bool:
        """True when this fault applies to the call."""
        if self.method != call.method:
            return False
        return self.chat_id is None or str(call.chat_id) == str(self.chat_id)


class ApiError(Exception):
    """A Bot API error answer; raise it from a handler or an on_call hook."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        """The JSON answer Telegram gives for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


def bad_request(reason: str) -> ApiError:
    """A 400 answer: 'Bad Request: <reason>'."""
    return ApiError(400, f"Bad Request: {reason}")


def cant_parse(reason: str) -> ApiError:
    """A 400 answer for markup or entity errors."""
    return bad_request(f"can't parse entities: {reason}")


DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    502: "Bad Gateway",
}


def default_description(status: int, retry_after: int | None) -> str:
    """Telegram's usual description for an HTTP status."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if status in DEFAULT_DESCRIPTIONS:
        return DEFAULT_DESCRIPTIONS[status]
    return "Internal Server Error" if status >= 500 else f"Error {status}"
