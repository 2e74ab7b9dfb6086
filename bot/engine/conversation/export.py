"""/export: a chat's stored history as a file the user keeps (Markdown, or JSON for programs).

The file holds exactly what the bot remembers: every answered turn, oldest first, with the
chat's summary of older turns (if any) and the persona and system prompt in effect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.engine.profiles.profiles import ChatProfile
from bot.storage.records import Summary, Turn

Format = Literal["markdown", "json"]
FORMATS: dict[str, Format] = {
    "": "markdown",
    "md": "markdown",
    "markdown": "markdown",
    "json": "json",
}


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    turns: int


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def as_json(
    chat_id: str, turns: Sequence[Turn], profile: ChatProfile, summary: Summary | None, now: float
) -> str:
    document: dict[str, Any] = {
        "chat": chat_id,
        "exported_at": _iso(now),
        "persona": profile.persona.name if profile.persona else None,
        "system_prompt": profile.system_prompt,
        "system_prompt_source": profile.prompt_source,
        "model": profile.model,
        "summary": (
            {"text": summary.text, "covers_to_turn": summary.covers_to} if summary else None
        ),
        "turns": [
            {
                "id": t.id,
                "at": _iso(t.created_at),
                "speaker": t.speaker,
                "user": t.user_text,
                "assistant": t.answer,
                "model": t.model,
            }
            for t in turns
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def as_markdown(
    chat_id: str, turns: Sequence[Turn], profile: ChatProfile, summary: Summary | None, now: float
) -> str:
    persona = profile.persona.name if profile.persona else "none"
    lines = [
        "# Conversation export",
        "",
        f"- Chat: `{chat_id}`",
        f"- Exported: {_iso(now)}",
        f"- Turns: {len(turns)}",
        f"- Persona: {persona}; system prompt: {profile.prompt_source}; model: {profile.model}",
        "",
    ]
    if summary:
        lines += ["## Summary of earlier turns", "", summary.text, ""]
    for t in turns:
        lines += [
            "---",
            "",
            f"**{t.speaker or 'You'}** · {_iso(t.created_at)}",
            "",
            t.user_text,
            "",
            f"**Assistant**{f' ({t.model})' if t.model else ''}",
            "",
            t.answer or "",
            "",
        ]
    return "\n".join(lines)


def export_file(
    fmt: Format,
    chat_id: str,
    turns: Sequence[Turn],
    *,
    profile: ChatProfile,
    summary: Summary | None,
    now: float,
) -> ExportFile:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    if fmt == "json":
        text, suffix = as_json(chat_id, turns, profile, summary, now), "json"
    else:
        text, suffix = as_markdown(chat_id, turns, profile, summary, now), "md"
    return ExportFile(f"chat-{stamp}.{suffix}", text.encode("utf-8"), len(turns))
