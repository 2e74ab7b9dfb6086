"""The streaming answer view: the tail while streaming, the whole answer once at the end."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markdown import Markdown

from bot.terminal.view import AnswerView, _Tail


def console(height: int = 10) -> Console:
    return Console(file=io.StringIO(), width=40, height=height, color_system=None)


class TestTail:
    def test_shows_the_newest_lines_that_fit(self) -> None:
        """An answer taller than the screen shows its last height-1 lines while streaming."""
        screen = console(height=10)
        text = "\n\n".join(f"paragraph {n}" for n in range(30))
        with screen.capture() as captured:
            screen.print(_Tail(Markdown(text)))
        lines = captured.get().splitlines()
        assert len(lines) == 9
        assert lines[-1].strip() == "paragraph 29"

    def test_short_answers_show_whole(self) -> None:
        """An answer that fits is shown entirely."""
        screen = console()
        with screen.capture() as captured:
            screen.print(_Tail(Markdown("just **this**")))
        assert captured.get().strip() == "just this"


class TestAnswerView:
    async def test_prints_the_whole_answer_once_rendered(self) -> None:
        """After the stream, the answer is printed once, as Markdown (no raw markup)."""
        screen = Console(file=io.StringIO(), width=40, height=5, color_system=None)
        with AnswerView(screen) as view:
            for piece in ["# Title\n\n", "- one\n", "- two\n", "- three\n", "- four\n"]:
                await view.add(piece)
        out = screen.file.getvalue()  # type: ignore[attr-defined]
        assert out.count("• four") == 1
        assert "- one" not in out and "#" not in out

    async def test_nothing_printed_for_an_empty_answer(self) -> None:
        """A failed answer with no text leaves nothing behind."""
        screen = console()
        with AnswerView(screen):
            pass
        assert screen.file.getvalue().strip() == ""  # type: ignore[attr-defined]
