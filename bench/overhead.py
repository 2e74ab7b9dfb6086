"""Figures 1 and 2: the bot's own time per answer, and how close a load comes to the ideal.

Private chats talk to the real bot process; each chat sends its next message when the answer to
the previous one has arrived (chats in parallel, messages in series). Per answer, overhead is
the time from the update leaving the fake Telegram (in a getUpdates answer) to the fake
answering the final sendMessage, minus the fake model's own time for that request (request
received → last chunk written). Concurrency is the load's wall time divided by its ideal: the
longest chat's model time. Also the bot's CPU seconds per answer, from /proc/PID/stat, and the
429s it ran into: the fake Telegram enforces ~1 draft or edit per second per chat throughout.
Each run of a load drives the bot, then the floor (bench/floor.py) under the same load; every
figure shows the floor's value beside the bot's and the ratio.

    python -m bench.overhead [--smoke|--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from bench.harness import Load, Stage, Turn, burst, drive
from bench.rows import Row, main, percentile, row

OVERHEAD = "1. Overhead"
CONCURRENCY = "2. Concurrency"
# (chats, messages per chat): the loads of figure 1, then the small ones of figure 2 only.
LOADS = {"smoke": [(3, 2)], "quick": [(50, 5), (500, 2)], "full": [(50, 5), (500, 2)]}
# 2. only: every chat sends all its messages at once (the 50 by 5 burst).
BURST = {"smoke": [(3, 2)], "quick": [(50, 5)], "full": [(50, 5)]}
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


async def measure(
    chats: int, messages: int, runs: int, during: Hook = _nothing, *, floor: bool = False
) -> Runs:
    """Drive the load `runs` times, each on a fresh bot process and database (or the floor)."""
    loads = []
    for _ in range(runs):
        loads.append(await _once(chats, messages, during, floor=floor))
    return Runs(chats, messages, loads)


async def measure_with_floor(chats: int, messages: int, runs: int) -> tuple[Runs, Runs]:
    """The bot's runs and the floor's, interleaved (bot, floor, bot, …) so both see the same
    machine: the load of the other engineers' work drifts over minutes."""
    bot, floor = Runs(chats, messages, []), Runs(chats, messages, [])
    for _ in range(runs):
        bot.loads.append(await _once(chats, messages, _nothing, floor=False))
        floor.loads.append(await _once(chats, messages, _nothing, floor=True))
    return bot, floor


async def _once(chats: int, messages: int, during: Hook, *, floor: bool) -> Load:
    # Telegram's ~1 update/s/chat for drafts and edits, as 429s: the bot must pace itself.
    async with Stage(flood_interval=1.0, floor=floor) as stage:
        await stage.warm_up()
        async with during(stage):
            return await drive(stage, list(range(10_001, 10_001 + chats)), messages)


def _pct(loads: list[Load], pct: float, of: Callable[[Turn], float]) -> list[float]:
    return [percentile([of(t) * 1000 for t in load.turns], pct) for load in loads]


def _overhead(turn: Turn) -> float:
    return turn.overhead_s


def _before(turn: Turn) -> float:
    return turn.before_model_s


def _after(turn: Turn) -> float:
    return turn.after_model_s


def _cpu(loads: list[Load]) -> list[float]:
    return [load.cpu_s * 1000 / len(load.turns) for load in loads]


def _busy(loads: list[Load]) -> list[float]:
    return [100 * load.cpu_s / load.wall_s for load in loads]


# The targets at 50 chats by 5 messages (50 users in turn): (measure, target text, limit).
TARGETS = {
    (50, "p50"): ("≤ 30 ms", 30.0),
    (50, "p99"): ("≤ 100 ms", 100.0),
    (50, "cpu"): ("≤ 4 ms", 4.0),
}


def overhead_rows(measured: Runs, floor: Runs | None = None, *, full: bool = True) -> list[Row]:
    """p50/p95/p99 of overhead and where the CPU time went, beside the floor's when given."""
    found = []
    floors = floor.loads if floor else None

    def add(
        measure: str, of: Callable[[list[Load]], list[float]], key: str = "", **kw: Any
    ) -> None:
        target, limit = TARGETS.get((measured.chats, key), ("", None))
        if target and measured.messages == 5:
            kw |= {"target": target, "limit": limit}
        kw.setdefault("unit", "ms")
        found.append(
            row(OVERHEAD, f"{measure}, {measured.label}", of(measured.loads),
                floor=of(floors) if floors else None, **kw)
        )  # fmt: skip

    for pct in (50, 95, 99):
        add(f"p{pct}", functools.partial(_pct, pct=pct, of=_overhead), f"p{pct}")
    add("p50 before the model", functools.partial(_pct, pct=50, of=_before))
    add("p50 after the model", functools.partial(_pct, pct=50, of=_after))
    if not full:
        return found
    add("bot CPU per answer", _cpu, "cpu")
    add("bot CPU busy during the load", _busy, unit="% of a core", digits=0)
    driver = [load.driver_cpu_s * 1000 / len(load.turns) for load in measured.loads]
    floods = [float(load.flood_errors) for load in measured.loads]
    return [
        *found,
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


def _ratios(loads: list[Load]) -> list[float]:
    return [load.wall_s / load.ideal_s for load in loads]


def concurrency_row(measured: Runs, floor: Runs | None = None) -> Row:
    return row(
        CONCURRENCY,
        f"wall / ideal, {measured.label}",
        _ratios(measured.loads),
        target="≤ 1.1",
        limit=1.1,
        digits=2,
        floor=_ratios(floor.loads) if floor else None,
    )


async def _burst_once(chats: int, messages: int, *, floor: bool) -> float:
    async with Stage(flood_interval=1.0, floor=floor) as stage:
        await stage.warm_up()
        wall, ideal = await burst(stage, list(range(10_001, 10_001 + chats)), messages)
        return wall / ideal


async def burst_row(chats: int, messages: int, runs: int) -> Row:
    """wall / ideal when every chat sends all its messages at once, beside the floor's."""
    bot, floor = [], []
    for _ in range(runs):
        bot.append(await _burst_once(chats, messages, floor=False))
        floor.append(await _burst_once(chats, messages, floor=True))
    return row(
        CONCURRENCY,
        f"wall / ideal, {chats} chats × {messages} at once",
        bot,
        target="≤ 1.1",
        limit=1.1,
        digits=2,
        floor=floor,
    )


async def _run(scale: str, runs: int) -> list[Row]:
    overhead, concurrency = [], []
    for chats, messages in SMALL[scale]:
        measured, floor = await measure_with_floor(chats, messages, runs)
        overhead += overhead_rows(measured, floor, full=False)
        concurrency.append(concurrency_row(measured, floor))
    for chats, messages in LOADS[scale]:
        measured, floor = await measure_with_floor(chats, messages, runs)
        overhead += overhead_rows(measured, floor)
        concurrency.append(concurrency_row(measured, floor))
    for chats, messages in BURST[scale]:
        concurrency.append(await burst_row(chats, messages, runs))
    return overhead + concurrency


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figures 1 and 2 at this scale; runs overrides the scale's number of runs."""
    return asyncio.run(_run(scale, runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
