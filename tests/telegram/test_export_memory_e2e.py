"""End to end, with the bot as a real process: /export of a 200,000-turn chat in bounded memory.

The history is written straight into the database before the bot starts. The bot's resident
memory is read from /proc before the export and its peak (VmHWM) after the file arrived: the
export reads the history a page at a time into a spooled file and uploads from that file, so
the peak stays far below the file's size.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.sqlite import Database
from tests.fakes.telegram import FakeTelegram, UploadedFile
from tests.support.botprocess import BotProcess
from tests.support.chats import PRIVATE
from tests.support.database import fill_turns

TURNS = 200_000
MAX_GROWTH_BYTES = 30 * 1024 * 1024
CAP = 10_000_000  # EXPORT_MAX_BYTES of the second test
TEXT = "question {n}: how long is a piece of string, roughly?"
ANSWER = "answer {n}: twice the distance from the middle to one end."


def memory_kb(pid: int, field: str) -> int:
    """A VmRSS/VmHWM figure of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
async def long_chat(bot_env: dict[str, str]) -> dict[str, str]:
    """The environment of a bot whose database holds a 200,000-turn private chat."""
    path = Path(bot_env["DATABASE_URL"].removeprefix("sqlite:///"))
    database = Database(path)
    await database.open()  # the schema
    await database.close()
    fill_turns(path, f"tg:{PRIVATE}", TURNS, created_at=time.time(), text=TEXT, answer=ANSWER)
    return bot_env


@pytest.fixture
async def process(
    long_chat: dict[str, str], telegram: FakeTelegram
) -> AsyncIterator[tuple[BotProcess, FakeTelegram]]:
    yield await BotProcess.start(long_chat, telegram), telegram


async def export_measured(
    running: BotProcess, telegram: FakeTelegram, command: str
) -> tuple[UploadedFile, float]:
    """Send `command`; the file that arrives and the bot's memory growth in MB (its peak
    during the export over its resident size before)."""
    before = memory_kb(running.pid, "VmRSS")
    telegram.send_private_text(PRIVATE, command)
    call = await telegram.wait_for_call("sendDocument", timeout=180)
    await running.wait_for("history_exported")
    peak = memory_kb(running.pid, "VmHWM")
    document = call.files["document"]
    return document, (peak - before) / 1024


class TestExportMemory:
    async def test_whole_history_in_bounded_memory(
        self, process: tuple[BotProcess, FakeTelegram]
    ) -> None:
        """200,000 turns (a ~38 MB file) are exported whole while the bot grows < 30 MB."""
        running, telegram = process
        try:
            document, growth_mb = await export_measured(running, telegram, "/export")
            [event] = running.events("history_exported")
        finally:
            assert await running.terminate() == 0
        content = document.content
        print(f"export: {len(content) / 1e6:.1f} MB file, RSS peak growth {growth_mb:.1f} MB")
        assert event["turns"] == TURNS and event["left_out"] == 0
        assert growth_mb * 1024 * 1024 < MAX_GROWTH_BYTES
        assert len(content) > MAX_GROWTH_BYTES  # bigger than the memory it may take
        assert content.count(b"\n**Assistant** (gpt-test)\n") == TURNS
        assert b"Export cut" not in content

    async def test_cut_at_the_cap_in_bounded_memory(
        self, long_chat: dict[str, str], telegram: FakeTelegram
    ) -> None:
        """With EXPORT_MAX_BYTES=10 MB the JSON file stops there, valid and with the note."""
        running = await BotProcess.start({**long_chat, "EXPORT_MAX_BYTES": str(CAP)}, telegram)
        try:
            document, growth_mb = await export_measured(running, telegram, "/export json")
        finally:
            assert await running.terminate() == 0
        print(f"cut export: {len(document.content) / 1e6:.1f} MB, RSS growth {growth_mb:.1f} MB")
        assert len(document.content) <= CAP
        data = json.loads(document.content)
        kept = len(data["turns"])
        assert data["truncated"]["turns_left_out"] == TURNS - kept > 0
        assert "Export cut at 10.0 MB" in data["truncated"]["note"]
        assert growth_mb * 1024 * 1024 < MAX_GROWTH_BYTES
