"""Files in the fake Telegram: what users send (photos, voice notes, audio, video notes,
documents, albums) served through getFile and the file URL, and voice messages the bot sends.

A test registers bytes with `telegram.files.add(...)`, which returns the Telegram object of
the file (``file_id``, ``file_unique_id``, ``file_size``); the `*_fields` helpers build a
message's fields from it, to push with `send_private_update` or `push_message`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes._tg_models import ApiCall, SentMessage, UploadedFile, bad_request
from tests.fakes._tg_params import chat_id_of, required
from tests.fakes._tg_state import JsonDict, TelegramState

BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files for bots


@dataclass
class StoredFile:
    """A file a user sent: its bytes (or only its announced size, for a file too big)."""

    file_id: str
    path: str
    content: bytes
    size: int


@dataclass
class FileStore:
    """The files users sent, by file_id; `downloads` counts each file URL served."""

    files: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)  # file_ids, in order
    download_delay: float = 0.0  # seconds before a download's bytes are sent

    def add(self, content: bytes, *, name: str = "file", size: int | None = None) -> JsonDict:
        """Register a file; `size` pretends a bigger file (its bytes are not kept)."""
        number = len(self.files) + 1
        file_id = f"FILE-{number}-{name}"
        path = f"documents/file_{number}_{name}"
        stored = StoredFile(file_id, path, content, len(content) if size is None else size)
        self.files[file_id] = stored
        return {"file_id": file_id, "file_unique_id": f"U{number}", "file_size": stored.size}


def photo_fields(
    files: FileStore, sizes: list[tuple[bytes, int, int]], caption: str | None = None
) -> JsonDict:
    """A photo message: one PhotoSize per (bytes, width, height), smallest first."""
    photo = [
        {**files.add(data, name=f"photo_{w}x{h}.jpg"), "width": w, "height": h}
        for data, w, h in sizes
    ]
    return _with_caption({"photo": photo}, caption)


def voice_fields(
    files: FileStore, data: bytes, duration: int = 3, caption: str | None = None
) -> JsonDict:
    """A voice note (Ogg/Opus)."""
    voice = {**files.add(data, name="voice.ogg"), "duration": duration, "mime_type": "audio/ogg"}
    return _with_caption({"voice": voice}, caption)


def audio_fields(files: FileStore, data: bytes, duration: int = 3, name: str = "a.mp3") -> JsonDict:
    """An audio file."""
    audio = {**files.add(data, name=name), "duration": duration, "mime_type": "audio/mpeg"}
    return {"audio": {**audio, "file_name": name}}


def video_note_fields(files: FileStore, data: bytes, duration: int = 3) -> JsonDict:
    """A round video note."""
    note = {**files.add(data, name="note.mp4"), "duration": duration, "length": 240}
    return {"video_note": note}


def document_fields(
    files: FileStore,
    data: bytes,
    name: str,
    mime_type: str,
    caption: str | None = None,
    size: int | None = None,
) -> JsonDict:
    """A file sent as a document (`size`: pretend a bigger file)."""
    document = {**files.add(data, name=name, size=size), "file_name": name, "mime_type": mime_type}
    return _with_caption({"document": document}, caption)


def _with_caption(fields: JsonDict, caption: str | None) -> JsonDict:
    return fields if caption is None else {**fields, "caption": caption}


def get_file(state: TelegramState, call: ApiCall) -> JsonDict:
    """getFile: the file's path to download; too big for bots, or unknown: 400."""
    store: FileStore = getattr(state, "files")  # noqa: B009 - FakeTelegram's, not the state's
    stored = store.files.get(str(required(call, "file_id")))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > BOT_DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_id,
        "file_size": stored.size,
        "file_path": stored.path,
    }


def send_voice(state: TelegramState, call: ApiCall) -> JsonDict:
    """sendVoice: an uploaded Ogg/Opus voice message (kept as the message's document)."""
    chat_id = chat_id_of(state, call)
    voice = call.files.get("voice") or call.params.get("voice")
    if not voice:
        raise bad_request("there is no voice in the request")
    message = SentMessage(
        chat_id=chat_id,
        message_id=state.next_message_id(chat_id),
        date=int(time.time()),
        text=str(call.params.get("caption") or ""),
        entities=[],
        reply_to_message_id=None,
        reply_markup=None,
        document=voice if isinstance(voice, UploadedFile) else str(voice),
        thread_id=state.topics.checked(chat_id, call),
    )
    state.store_sent(message)
    return {
        **state.sent_dict(message),
        "voice": {"file_id": "V", "file_unique_id": "V", "duration": 1},
    }


async def serve_file(store: FileStore, token: str, request: web.Request) -> web.StreamResponse:
    """GET /file/bot<token>/<path>: the file's bytes."""
    if request.match_info["token"] != token:
        return web.Response(status=401)
    path = request.match_info["path"]
    stored = next((f for f in store.files.values() if f.path == path), None)
    if stored is None:
        return web.Response(status=404)
    store.downloads.append(stored.file_id)
    if store.download_delay:
        await asyncio.sleep(store.download_delay)
    return web.Response(body=stored.content, content_type="application/octet-stream")
