"""The fake OpenAI server's audio endpoints: speech to text (``/audio/transcriptions``,
multipart) and text to speech (``/audio/speech``), as the official SDK calls them.

A transcription answers with the uploaded bytes read as UTF-8 text (tests send the words
as the "recording"), unless `transcripts` queues other text; `script` queues errors, hangs and
blocks (the same behaviours as chat requests) consumed by either endpoint in order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes import _oai_payloads as payloads
from tests.fakes._oai_script import Behaviour, Block, Error, Hang

OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead"  # the start of an Ogg/Opus stream


@dataclass
class AudioRequest:
    """One audio request: its form fields (or JSON body), and the uploaded file if any."""

    path: str
    fields: dict[str, Any]
    headers: dict[str, str]
    at: float
    filename: str | None = None
    content: bytes = b""
    finished_at: float | None = None


@dataclass
class AudioEndpoints:
    """Recorded audio requests and their scripted behaviours."""

    authorized: Callable[[web.Request], bool]
    transcriptions: list[AudioRequest] = field(default_factory=list)
    speeches: list[AudioRequest] = field(default_factory=list)
    transcripts: deque[str] = field(default_factory=deque)
    _script: deque[Behaviour] = field(default_factory=deque)

    def install(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/audio/transcriptions", self._transcribe)
        router.add_post("/v1/audio/speech", self._speak)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours (Error, Hang, Block) for the next audio requests."""
        self._script.extend(behaviours)

    async def _transcribe(self, request: web.Request) -> web.Response:
        record = AudioRequest(request.path, {}, dict(request.headers), time.monotonic())
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                record.filename, record.content = part.filename, bytes(await part.read())
            else:
                record.fields[part.name] = (await part.read()).decode()
        self.transcriptions.append(record)
        problem = await self._behave(request)
        if problem is not None:
            return problem
        text = (
            self.transcripts.popleft()
            if self.transcripts
            else record.content.decode(errors="replace")
        )
        record.finished_at = time.monotonic()
        if record.fields.get("response_format") == "text":
            return web.Response(text=text)
        return web.json_response({"text": text})

    async def _speak(self, request: web.Request) -> web.Response:
        body = await request.json()
        record = AudioRequest(request.path, body, dict(request.headers), time.monotonic())
        self.speeches.append(record)
        problem = await self._behave(request)
        if problem is not None:
            return problem
        if not body.get("input") or not body.get("model"):
            return _error(400, "input and model are required")
        content_type = "audio/ogg" if body.get("response_format") == "opus" else "audio/mpeg"
        record.finished_at = time.monotonic()
        return web.Response(body=OGG_OPUS + str(body["input"]).encode(), content_type=content_type)

    async def _behave(self, request: web.Request) -> web.Response | None:
        if not self.authorized(request):
            return _error(401, "Incorrect API key provided", "invalid_api_key")
        behaviour = self._script.popleft() if self._script else None
        while isinstance(behaviour, Hang | Block):
            if isinstance(behaviour, Hang):
                await asyncio.sleep(behaviour.seconds)
            else:
                await behaviour.event.wait()
            behaviour = behaviour.then
        if isinstance(behaviour, Error):
            return _error(behaviour.status, behaviour.message, behaviour.code, behaviour.headers)
        return None


def _error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = payloads.error_body(message, payloads.default_error_type(status), code)
    return web.json_response(body, status=status, headers=headers)
