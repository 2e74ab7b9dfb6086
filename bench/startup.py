"""Figure 6: start-up time, from spawning `python -m bot` to its first getUpdates at the fake.

python -m bench.startup [--smoke|--quick]
"""

from __future__ import annotations

import asyncio

from bench.harness import Stage
from bench.rows import Row, main, row

FIGURE = "6. Start-up"
RUNS = {"smoke": 1, "quick": 3, "full": 5}


async def _run(runs: int) -> list[Row]:
    times = []
    for _ in range(runs):
        async with Stage() as stage:
            times.append((stage.first_poll_at - stage.spawned_at) * 1000)
    return [row(FIGURE, "spawn → first getUpdates", times, "ms", digits=0)]


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 6 at this scale; runs overrides the scale's number of starts."""
    return asyncio.run(_run(runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
