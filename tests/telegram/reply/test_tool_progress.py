"""The progress line a chat sees while a tool runs."""

from __future__ import annotations

from bot.telegram.reply.tool_progress import MAX_LABEL_CHARS, progress_line, tool_progress


class TestProgressLine:
    def test_the_line(self) -> None:
        """A wrench and the server's and tool's names."""
        assert progress_line("time: get_current_time") == "🔧 time: get_current_time"

    def test_a_long_name_is_cut(self) -> None:
        """A server's tool name cannot fill the message."""
        assert len(progress_line("x" * 500)) == len("🔧 ") + MAX_LABEL_CHARS

    async def test_streamed_like_text(self) -> None:
        """The line goes to the stream, on a line of its own; nothing without streaming."""
        shown: list[str] = []

        async def on_delta(text: str) -> None:
            shown.append(text)

        started = tool_progress(on_delta)
        assert started is not None
        await started("test: echo")
        assert shown == ["🔧 test: echo\n\n"]
        assert tool_progress(None) is None
