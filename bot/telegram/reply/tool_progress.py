"""The short line a chat sees while the model's tools run ("🔧 time: get_current_time"),
shown in the streamed message above the answer that follows; the delivered answer replaces
it (the line is never part of the stored answer).

With streaming off nothing is shown until the answer is complete, so there is no line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.engine.models.completion import OnDelta

TOOL_MARK = "🔧"
MAX_LABEL_CHARS = 60  # a tool's name comes from a server: bounded before it is shown


def progress_line(label: str) -> str:
    """The line for one tool call, e.g. "🔧 time: get_current_time"."""
    shown = label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"
    return f"{TOOL_MARK} {shown}"


def tool_progress(on_delta: OnDelta | None) -> Callable[[str], Awaitable[None]] | None:
    """What the engine calls as each tool call starts: the line, streamed like answer text."""
    if on_delta is None:
        return None
    show = on_delta

    async def started(label: str) -> None:
        await show(progress_line(label) + "\n\n")

    return started
