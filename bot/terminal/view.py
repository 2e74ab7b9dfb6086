"""Showing an answer while it streams, rendered as Markdown, then printing it whole.

While text arrives, a live area shows the newest lines that fit the screen (a live area
taller than the screen cannot be redrawn in place). When the stream ends the live area is
erased and the whole answer is printed once, so the scrollback holds it exactly once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from bot.engine.models.reasoning import Reasoning

REFRESHES_PER_SECOND = 12


class _Tail:
    """The last lines of a renderable that fit on the screen, leaving one line spare."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        for line in lines[-max(1, console.size.height - 1) :]:
            yield from line
            yield Segment.line()


class AnswerView:
    """`with AnswerView(console) as view:` then `await view.add(delta)` for each piece."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self.thinking = ""  # a reasoning model's thoughts: shown dimmed above the answer
        self._live = Live(
            Spinner("dots", text="thinking…", style="dim"),
            console=console,
            refresh_per_second=REFRESHES_PER_SECOND,
            transient=True,
        )

    async def add(self, delta: str) -> None:
        """Show one more piece of the answer, or of the thinking before it (the live area
        redraws on its own)."""
        if isinstance(delta, Reasoning):
            self.thinking += delta
        else:
            self.text += delta
        self._live.update(_Tail(self._shown()))

    def _thought(self) -> Text | None:
        thinking = self.thinking.strip()
        return Text(f"💭 {thinking}", style="dim") if thinking else None

    def _shown(self) -> RenderableType:
        thought = self._thought()
        if thought is None:
            return Markdown(self.text)
        return Group(thought, Markdown(self.text)) if self.text else thought

    async def tool(self, label: str) -> None:
        """A tool call starting: a dim line above the live area, kept in the scrollback."""
        self.console.print(f"🔧 {label}", style="dim", highlight=False, markup=False)

    def __enter__(self) -> Self:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()
        thought = self._thought()
        if thought is not None:
            self.console.print(thought)
        if self.text.strip():
            self.console.print(Markdown(self.text))
