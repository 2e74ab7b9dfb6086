"""The export writer: pages in, one file out, never over the cap, always a valid document."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.conversation.export import TAIL_ROOM_BYTES, Exporter, ExportFile, Format
from bot.engine.profiles.profiles import ChatProfile
from bot.storage.records import Summary, Turn, TurnState

PROFILE = ChatProfile("Be brief.", "default", "m", 0.7, None)


class PagedTurns:
    """Answered turns of one chat, served a page at a time; counts the reads."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.reads: list[int] = []

    async def answered_page(self, chat_id: str, *, after: int, limit: int) -> list[Turn]:
        page = [t for t in self.turns if t.id > after][:limit]
        self.reads.append(len(page))
        return page

    async def count_answered(self, chat_id: str) -> int:
        return len(self.turns)


def turns(texts: list[str]) -> list[Turn]:
    return [
        Turn(n + 1, "c", text, TurnState.ANSWERED, 0.0, answer=f"re {text}", model="m")
        for n, text in enumerate(texts)
    ]


async def export(stored: PagedTurns, fmt: Format, max_bytes: int) -> ExportFile | None:
    """Export chat "c" of `stored` (no summary) with a cap of `max_bytes`."""

    async def no_summary(_chat: str) -> Summary | None:
        return None

    async def profile(_chat: str) -> ChatProfile:
        return PROFILE

    exporter = Exporter(stored, no_summary, profile, max_bytes=max_bytes, clock=lambda: 0.0)
    return await exporter.export("c", fmt)


class TestExporter:
    async def test_nothing_to_export(self) -> None:
        """No turns and no summary: no file."""
        assert await export(PagedTurns([]), "markdown", 100_000) is None

    async def test_reads_in_pages(self) -> None:
        """1,200 turns are read 500 at a time, and all of them are written."""
        stored = PagedTurns(turns([f"q{n}" for n in range(1_200)]))
        file = await export(stored, "json", 10_000_000)
        assert file is not None and file.turns == 1_200 and file.left_out == 0
        assert stored.reads == [500, 500, 200, 0]
        assert len(json.loads(file.file.read())["turns"]) == 1_200
        file.close()

    @settings(max_examples=30, deadline=None)
    @given(
        st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=60),
        st.integers(min_value=TAIL_ROOM_BYTES + 1_500, max_value=40_000),
        st.sampled_from(["json", "markdown"]),
    )
    async def test_cut_anywhere_stays_valid(self, texts: list[str], cap: int, fmt: Format) -> None:
        """Whatever the texts and the cap: the file is within the cap, written plus left out is
        every turn, and JSON parses with the turns it says it kept."""
        file = await export(PagedTurns(turns(texts)), fmt, cap)
        assert file is not None
        content = file.file.read()
        file.close()
        assert len(content) == file.size <= cap
        assert file.turns + file.left_out == len(texts)
        if fmt == "json":
            data = json.loads(content)
            assert [t["user"] for t in data["turns"]] == texts[: file.turns]
            assert (data["truncated"] is None) == (file.left_out == 0)
        elif file.left_out:
            assert "Export cut at" in content.decode("utf-8").splitlines()[-1]
