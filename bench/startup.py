"""Figure 6: start-up time, from spawning `python -m bot` to its first getUpdates at the fake.

The floor (bench/floor.py) starts in turn with the bot.

python -m bench.startup [--smoke|--quick]
"""

from __future__ import annotations

import asyncio

from bench.harness import Stage
from bench.rows import Row, main, row

FIGURE = "6. Start-up"
RUNS = {"smoke": 1, "quick": 3, "full": 5}


async def _start(*, floor: bool) -> float:
    async with Stage(floor=floor) as stage:
        return (stage.first_poll_at - stage.spawned_at) * 1000


async def _run(runs: int) -> list[Row]:
    times, floor = [], []
    for _ in range(runs):
        times.append(await _start(floor=False))
        floor.append(await _start(floor=True))
    return [
        row(
            FIGURE,
            "spawn → first getUpdates",
            times,
            "ms",
            digits=0,
            target="≤ 800 ms",
            limit=800.0,
            floor=floor,
        )
    ]


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 6 at this scale; runs overrides the scale's number of starts."""
    return asyncio.run(_run(runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
