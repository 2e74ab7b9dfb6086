"""Figures 1 and 2: the bot's own time per answer, and how close a load comes to the ideal.

Private chats talk to the real bot process; each chat sends its next message when the answer to
the previous one has arrived (chats in parallel, messages in series). Per answer, overhead is
the time from the update leaving the fake Telegram (in a getUpdates answer) to the fake
answering the final sendMessage, minus the fake model's own time for that request (request
received → last chunk written). Concurrency is the load's wall time divided by its ideal: the
longest chat's model time. Also the bot's CPU seconds per answer, from /proc/PID/stat, and the
429s it ran into: the fake Telegram enforces ~1 draft or edit per second per chat throughout.

    python -m bench.overhead [--smoke|--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bench.harness import Load, Stage, drive
from bench.rows import Row, main, percentile, row

OVERHEAD = "1. Overhead"
CONCURRENCY = "2. Concurrency"
# (chats, messages per chat): the loads of figure 1, then the small ones of figure 2 only.
LOADS = {"smoke": [(3, 2)], "quick": [(50, 5), (500, 2)], "full": [(50, 5), (500, 2)]}
SMALL = {"smoke": [(1, 2)], "quick": [(1, 10), (5, 5)], "full": [(1, 10), (5, 5)]}
RUNS = {"smoke": 1, "quick": 2, "full": 3}

Hook = Callable[[Stage], contextlib.AbstractAsyncContextManager[None]]


@dataclass
class Runs:
    """The loads of one size, one per run, each on a fresh bot."""

    chats: int
    messages: int
    loads: list[Load]

    @property
    def label(self) -> str:
        return f"{self.chats} chat{'s' if self.chats > 1 else ''} × {self.messages}"


@contextlib.asynccontextmanager
async def _nothing(_stage: Stage) -> AsyncIterator[None]:
    yield


async def measure(chats: int, messages: int, runs: int, during: Hook = _nothing) -> Runs:
    """Drive the load `runs` times, each on a fresh bot process and database."""
    loads = []
    for _ in range(runs):
        # Telegram's ~1 update/s/chat for drafts and edits, as 429s: the bot must pace itself.
        async with Stage(flood_interval=1.0) as stage, during(stage):
            loads.append(await drive(stage, list(range(10_001, 10_001 + chats)), messages))
    return Runs(chats, messages, loads)


def overhead_rows(measured: Runs, *, targets: bool = True) -> list[Row]:
    """p50/p95/p99 of overhead (the issue's target on p99) and where the CPU time went."""
    found = []
    for pct in (50, 95, 99):
        values = [
            percentile([t.overhead_s * 1000 for t in load.turns], pct) for load in measured.loads
        ]
        target, limit = ("≤ 10 ms", 10.0) if pct == 99 and targets else ("", None)
        found.append(
            row(OVERHEAD, f"p{pct}, {measured.label}", values, "ms", target=target, limit=limit)
        )
    for part in ("before", "after"):
        values = [
            percentile([getattr(t, f"{part}_model_s") * 1000 for t in load.turns], 50)
            for load in measured.loads
        ]
        found.append(row(OVERHEAD, f"p50 {part} the model, {measured.label}", values, "ms"))
    if not targets:
        return found
    loads = measured.loads
    cpu = [load.cpu_s * 1000 / len(load.turns) for load in loads]
    busy = [100 * load.cpu_s / load.wall_s for load in loads]
    driver = [load.driver_cpu_s * 1000 / len(load.turns) for load in loads]
    floods = [float(load.flood_errors) for load in loads]
    return [
        *found,
        row(OVERHEAD, f"bot CPU per answer, {measured.label}", cpu, "ms"),
        row(
            OVERHEAD,
            f"bot CPU busy during the load, {measured.label}",
            busy,
            "% of a core",
            digits=0,
        ),
        row(OVERHEAD, f"fakes + driver CPU per answer, {measured.label}", driver, "ms"),
        row(
            OVERHEAD,
            f"429s at 1 edit/s/chat, {measured.label}",
            floods,
            target="0",
            limit=0.0,
            digits=0,
        ),
    ]


def concurrency_row(measured: Runs) -> Row:
    ratios = [load.wall_s / load.ideal_s for load in measured.loads]
    return row(
        CONCURRENCY, f"wall / ideal, {measured.label}", ratios, target="≤ 1.1", limit=1.1, digits=2
    )


async def _run(scale: str, runs: int) -> list[Row]:
    overhead, concurrency = [], []
    for chats, messages in SMALL[scale]:
        measured = await measure(chats, messages, runs)
        overhead += overhead_rows(measured, targets=False)
        concurrency.append(concurrency_row(measured))
    for chats, messages in LOADS[scale]:
        measured = await measure(chats, messages, runs)
        overhead += overhead_rows(measured)
        concurrency.append(concurrency_row(measured))
    return overhead + concurrency


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figures 1 and 2 at this scale; runs overrides the scale's number of runs."""
    return asyncio.run(_run(scale, runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
