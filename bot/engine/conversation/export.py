"""/export: a chat's stored history as a file the user keeps (Markdown, or JSON for programs).

The file holds what the bot remembers: the answered turns, oldest first, with the chat's
summary of older turns (if any) and the persona and system prompt in effect.

Memory stays bounded whatever the chat's length: the turns are read a page at a time (keyset
pagination by turn id, through an index) and written into a spooled temporary file (in memory
up to SPOOL_IN_MEMORY_BYTES, on disk beyond). The file stops at `max_bytes` (EXPORT_MAX_BYTES:
Telegram bots may upload 50 MB at most); a cut file ends with a note saying how many of the
newest turns were left out, and a cut JSON file is still valid JSON.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Literal, Protocol

from bot.engine.conversation.quotes import with_quote
from bot.engine.profiles.profiles import ChatProfile
from bot.engine.tools.stored import calls_markdown, calls_of
from bot.observability.logs import get_logger
from bot.storage.records import Quote, Summary, Turn

log = get_logger(__name__)

Format = Literal["markdown", "json"]
FORMATS: dict[str, Format] = {
    "": "markdown",
    "md": "markdown",
    "markdown": "markdown",
    "json": "json",
}
PAGE_TURNS = 500  # turns read per query
SPOOL_IN_MEMORY_BYTES = 1024 * 1024  # beyond this the file goes to disk
TAIL_ROOM_BYTES = 1024  # kept free under the cap for the file's end (and the cut note)


@dataclass(frozen=True)
class Header:
    """What the file says before the turns."""

    chat_id: str
    profile: ChatProfile
    summary: Summary | None
    now: float
    total: int  # answered turns stored when the export began


@dataclass
class ExportFile:
    """A finished export. `file` is positioned at its start; whoever sends it closes it."""

    filename: str
    file: IO[bytes]
    turns: int  # turns written
    left_out: int  # the newest turns that did not fit under the cap
    size: int  # bytes

    def close(self) -> None:
        self.file.close()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def cut_note(left_out: int, max_bytes: int) -> str:
    """The note at the end of a cut file (what the user reads)."""
    return (
        f"Export cut at {max_bytes / 1_000_000:.1f} MB: the newest {left_out:,} turns are "
        "not in this file (Telegram bots can send files of 50 MB at most)."
    )


class HistoryPages(Protocol):
    """What an export reads of the turns (a part of TurnRepository)."""

    async def answered_page(self, chat_id: str, *, after: int, limit: int) -> list[Turn]: ...

    async def count_answered(self, chat_id: str) -> int: ...


class Writer(Protocol):
    """One file format, written piece by piece."""

    suffix: str

    def head(self, header: Header) -> str: ...

    def turn(self, turn: Turn, *, first: bool) -> str: ...

    def tail(self, left_out: int, max_bytes: int) -> str: ...


class MarkdownWriter:
    suffix = "md"

    def head(self, header: Header) -> str:
        profile = header.profile
        persona = profile.persona.name if profile.persona else "none"
        lines = [
            "# Conversation export",
            "",
            f"- Chat: `{header.chat_id}`",
            f"- Exported: {_iso(header.now)}",
            f"- Turns: {header.total}",
            f"- Persona: {persona}; system prompt: {profile.prompt_source}; model: {profile.model}",
            "",
        ]
        if header.summary:
            lines += ["## Summary of earlier turns", "", header.summary.text, ""]
        return "\n".join(lines) + "\n"

    def turn(self, turn: Turn, *, first: bool) -> str:
        model = f" ({turn.model})" if turn.model else ""
        question = with_quote(turn.user_text, turn.quote)  # a quote shows as a blockquote
        return (
            f"---\n\n**{turn.speaker or 'You'}** · {_iso(turn.created_at)}\n\n{question}\n\n"
            f"{calls_markdown(turn.tool_calls)}**Assistant**{model}\n\n{turn.answer or ''}\n\n"
        )

    def tail(self, left_out: int, max_bytes: int) -> str:
        return f"---\n\n> ✂️ {cut_note(left_out, max_bytes)}\n" if left_out else ""


def _quote(quote: Quote | None) -> dict[str, Any] | None:
    if quote is None:
        return None
    return {"text": quote.text, "author": quote.author, "own_answer": quote.own}


class JsonWriter:
    """One JSON object; "turns" holds one turn per line and "truncated" says whether (and
    how) the file was cut."""

    suffix = "json"

    def head(self, header: Header) -> str:
        profile, summary = header.profile, header.summary
        document: dict[str, Any] = {
            "chat": header.chat_id,
            "exported_at": _iso(header.now),
            "persona": profile.persona.name if profile.persona else None,
            "system_prompt": profile.system_prompt,
            "system_prompt_source": profile.prompt_source,
            "model": profile.model,
            "summary": (
                {"text": summary.text, "covers_to_turn": summary.covers_to} if summary else None
            ),
            "turns_stored": header.total,
        }
        opened = json.dumps(document, ensure_ascii=False, indent=2).removesuffix("\n}")
        return opened + ',\n  "turns": ['

    def turn(self, turn: Turn, *, first: bool) -> str:
        item = {
            "id": turn.id,
            "at": _iso(turn.created_at),
            "speaker": turn.speaker,
            "user": turn.user_text,
            "quote": _quote(turn.quote),
            "assistant": turn.answer,
            "model": turn.model,
            "tool_calls": calls_of(turn.tool_calls),
        }
        return ("\n    " if first else ",\n    ") + json.dumps(item, ensure_ascii=False)

    def tail(self, left_out: int, max_bytes: int) -> str:
        truncated = (
            {
                "turns_left_out": left_out,
                "max_bytes": max_bytes,
                "note": cut_note(left_out, max_bytes),
            }
            if left_out
            else None
        )
        return '\n  ],\n  "truncated": ' + json.dumps(truncated, ensure_ascii=False) + "\n}\n"


WRITERS: dict[Format, Callable[[], Writer]] = {"markdown": MarkdownWriter, "json": JsonWriter}


class Exporter:
    """Writes a chat's history into a spooled file, page by page, up to `max_bytes`.

    `summary` and `profile` give a chat's summary (None: none, or summaries are off) and the
    profile in effect."""

    def __init__(
        self,
        turns: HistoryPages,
        summary: Callable[[str], Awaitable[Summary | None]],
        profile: Callable[[str], Awaitable[ChatProfile]],
        *,
        max_bytes: int,
        clock: Callable[[], float],
    ) -> None:
        self._turns = turns
        self._summary = summary
        self._profile = profile
        self.max_bytes = max_bytes
        self._clock = clock

    async def export(self, chat_id: str, fmt: Format) -> ExportFile | None:
        """The chat's stored history as a file; None when there is nothing to export."""
        total = await self._turns.count_answered(chat_id)
        summary = await self._summary(chat_id)
        if total == 0 and summary is None:
            return None
        now = self._clock()
        header = Header(chat_id, await self._profile(chat_id), summary, now, total)
        writer = WRITERS[fmt]()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
        try:
            written, size = await self._fill(spool, writer, header)
            left_out = max(0, total - written)
            size += await _write(spool, writer.tail(left_out, self.max_bytes))
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
        log.info(
            "history_exported",
            chat_key=chat_id,
            turns=written,
            left_out=left_out,
            bytes=size,
            format=fmt,
        )
        return ExportFile(f"chat-{stamp}.{writer.suffix}", spool, written, left_out, size)

    async def _fill(self, spool: IO[bytes], writer: Writer, header: Header) -> tuple[int, int]:
        """Write the head and as many turns as fit; (turns written, bytes written)."""
        size = await _write(spool, writer.head(header))
        limit = self.max_bytes - TAIL_ROOM_BYTES
        written, after = 0, 0
        while page := await self._turns.answered_page(
            header.chat_id, after=after, limit=PAGE_TURNS
        ):
            chunks: list[bytes] = []
            for turn in page:
                chunk = writer.turn(turn, first=written == 0).encode("utf-8")
                if size + len(chunk) > limit:
                    await _write_bytes(spool, b"".join(chunks))
                    return written, size
                chunks.append(chunk)
                size += len(chunk)
                written += 1
            await _write_bytes(spool, b"".join(chunks))
            after = page[-1].id
        return written, size


async def _write(spool: IO[bytes], text: str) -> int:
    data = text.encode("utf-8")
    await _write_bytes(spool, data)
    return len(data)


async def _write_bytes(spool: IO[bytes], data: bytes) -> None:
    # A page at a time, off the event loop: once the spool is on disk, this is file I/O.
    if data:
        await asyncio.to_thread(spool.write, data)
