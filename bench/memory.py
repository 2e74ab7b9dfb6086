"""Figure 5: the bot process's memory, at start and at its peak after serving many chats.

Distinct private chats send one short message each, at most 200 waiting for an answer at a
time; the peak is VmHWM from /proc/PID/status (the kernel's high-water mark of the resident set).
MB here are 10^6 bytes. The floor (bench/floor.py) runs the same load after the bot.

    python -m bench.memory [--smoke|--quick]
"""

from __future__ import annotations

import asyncio

from bench.harness import ModelTiming, Stage, drive
from bench.rows import Row, main, row

FIGURE = "5. Memory"
CHATS = {"smoke": 50, "quick": 2_000, "full": 10_000}
IN_FLIGHT = 200
SHORT = ModelTiming(ttft=0.05, chunks=5, chunk_delay=0.01, words=15)


async def _load(chats: int, *, floor: bool) -> tuple[float, float, float]:
    """RSS at start, peak RSS (MB) and answers per second of the bot (or the floor)."""
    async with Stage(SHORT, floor=floor) as stage:
        start = stage.stats().rss_kb * 1024 / 1e6
        load = await drive(stage, list(range(30_001, 30_001 + chats)), 1, IN_FLIGHT)
        return start, stage.stats().peak_rss_kb * 1024 / 1e6, chats / load.wall_s


async def _run(scale: str, runs: int) -> list[Row]:
    chats = CHATS[scale]
    bot, floor = [], []
    for _ in range(runs):
        bot.append(await _load(chats, floor=False))
        floor.append(await _load(chats, floor=True))
    start, peak, rate = zip(*bot, strict=True)
    floor_start, floor_peak, floor_rate = zip(*floor, strict=True)
    return [
        row(
            FIGURE,
            "RSS at start (first getUpdates)",
            start,
            "MB",
            target="≤ 70 MB",
            limit=70.0,
            floor=floor_start,
        ),
        row(
            FIGURE,
            f"peak RSS after {chats:,} chats",
            peak,
            "MB",
            target="≤ 90 MB",
            limit=90.0,
            floor=floor_peak,
        ),
        row(
            FIGURE,
            f"answers per second, {chats:,} chats, {IN_FLIGHT} in flight",
            rate,
            floor=floor_rate,
        ),
    ]


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 5 at this scale (one run unless runs says otherwise: the load is long)."""
    return asyncio.run(_run(scale, runs or 1))


if __name__ == "__main__":
    main(run, __doc__)
