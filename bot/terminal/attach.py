"""/attach PATH in the terminal chat: a local image, document or recording goes with the next
question, through the same engine path as a file sent in Telegram."""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from rich.console import Console

from bot.engine.conversation.turns import Conversation
from bot.engine.media import errors as media_errors
from bot.engine.media.images import IMAGE_TYPES
from bot.engine.media.service import Media
from bot.storage.records import Attachment, AttachmentKind, Turn


class AttachContext(Protocol):
    """What /attach works with (the terminal's ChatContext)."""

    @property
    def conversation(self) -> Conversation: ...

    @property
    def console(self) -> Console: ...

    @property
    def media(self) -> Media | None: ...

    @property
    def attached(self) -> list[Attachment]: ...


class LocalFiles:
    """A `FileSource` on local paths (the attachment's file id is its path)."""

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        return await asyncio.to_thread(_read, Path(file_id), max_bytes)


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)  # bounded before it is read
    except OSError as exc:
        raise media_errors.DownloadFailed() from exc
    if len(data) > max_bytes:
        raise media_errors.TooLarge(max_bytes)
    return data


def _local(arg: str) -> Attachment | None:
    path = Path(arg).expanduser()
    return attachment_for(path.resolve()) if path.is_file() else None


def attachment_for(path: Path) -> Attachment:
    """The attachment a local file makes, by its type (guessed from its name)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mime in IMAGE_TYPES:
        kind = AttachmentKind.IMAGE
    elif mime.startswith(("audio/", "video/")):
        kind = AttachmentKind.VOICE
    else:
        kind = AttachmentKind.DOCUMENT
    return Attachment(kind, str(path), path.name, mime, path.stat().st_size)


async def attach(ctx: AttachContext, arg: str) -> None:
    """/attach PATH: check the file now; it is sent with the next question."""
    media = ctx.media
    if media is None:
        ctx.console.print("Files are turned off (MEDIA_ENABLED=false).")
        return
    found = await asyncio.to_thread(_local, arg) if arg else None
    if found is None:
        ctx.console.print("Usage: /attach PATH (an image, a text file, a PDF or a recording).")
        return
    try:
        media.admit(found)
    except media_errors.MediaError as exc:
        ctx.console.print(f"[red]{exc.user_message}[/red]", highlight=False)
        return
    ctx.attached.append(found)
    ctx.console.print(f"Attached {found.name}: it goes with your next question.", highlight=False)


async def prepared(ctx: AttachContext, turn: Turn, media: Media) -> Turn:
    """The turn with its files read (and its transcript shown); raises MediaError."""
    if ctx.attached:
        await media.attach(turn.id, ctx.attached)
        ctx.attached.clear()
    if not await media.of(turn):
        return turn
    model = (await ctx.conversation.profiles.resolve(turn.chat_id)).model
    try:
        done = await media.prepare(turn, LocalFiles(), model=model)
    except media_errors.MediaError as exc:
        await ctx.conversation.failed(turn, exc, model=model)
        raise
    for transcript in done.transcripts:
        ctx.console.print(f"[dim]🎤 {transcript}[/dim]", highlight=False)
    for note in done.notes:
        ctx.console.print(f"[dim]{note}[/dim]", highlight=False)
    return await ctx.conversation.current(turn.id) or replace(turn)
