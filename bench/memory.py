"""Figure 5: the bot process's memory, at start and at its peak after serving many chats.

Distinct private chats send one short message each, at most 200 waiting for an answer at a
time; the peak is VmHWM from /proc/PID/status (the kernel's high-water mark of the resident set).
MB here are 10^6 bytes.

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


async def _run(scale: str, runs: int) -> list[Row]:
    chats = CHATS[scale]
    start, peak, rate = [], [], []
    for _ in range(runs):
        async with Stage(SHORT) as stage:
            start.append(stage.stats().rss_kb * 1024 / 1e6)
            load = await drive(stage, list(range(30_001, 30_001 + chats)), 1, IN_FLIGHT)
            peak.append(stage.stats().peak_rss_kb * 1024 / 1e6)
            rate.append(chats / load.wall_s)
    return [
        row(FIGURE, "RSS at start (first getUpdates)", start, "MB"),
        row(FIGURE, f"peak RSS after {chats:,} chats", peak, "MB", target="≤ 100 MB", limit=100.0),
        row(FIGURE, f"answers per second, {chats:,} chats, {IN_FLIGHT} in flight", rate),
    ]


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 5 at this scale (one run unless runs says otherwise: the load is long)."""
    return asyncio.run(_run(scale, runs or 1))


if __name__ == "__main__":
    main(run, __doc__)
