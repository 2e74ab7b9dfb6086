"""Figure 7: one process on SQLite, one on PostgreSQL, and two and three replicas on
PostgreSQL (all answering; the first one polls), under the same load.

Per setup: answers per second (the load's answers / its wall time) and the bot's overhead p50
and p99 per answer (as figure 1: update handed out -> answer delivered, minus the model's own
time). The fake model, the fake Telegram and the load are those of figure 1. The other
replicas are started after the first (which polls and records updates for all); each
conversation is answered by whichever replica takes its lease.

    python -m bench.replicas [--smoke|--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bench.harness import Load, Stage, drive
from bench.rows import Row, main, not_built, percentile, row
from tests.support.botprocess import BotProcess

FIGURE = "7. Replicas"
LOAD = {"smoke": (3, 2), "quick": (20, 5), "full": (50, 5)}  # (chats, messages per chat)
RUNS = {"smoke": 1, "quick": 1, "full": 3}
# (label, replicas on PostgreSQL; None: one process on SQLite)
SETUPS: tuple[tuple[str, int | None], ...] = (
    ("1 process, SQLite", None),
    ("1 process, PostgreSQL", 1),
    ("2 replicas", 2),
    ("3 replicas", 3),
)


@contextlib.asynccontextmanager
async def _schema() -> AsyncIterator[str | None]:
    """A PostgreSQL schema of its own (dropped after), or None when no server answers."""
    from tests.support.services import POSTGRES_URL, postgres_schema, require  # noqa: PLC0415

    try:
        require("PostgreSQL", POSTGRES_URL)
    except BaseException:  # pytest's skip: no server here  # noqa: BLE001
        yield None
        return
    async with postgres_schema() as schema:
        yield schema.url


async def _more_replicas(stage: Stage, count: int) -> list[BotProcess]:
    """`count` more bot processes on the stage's database: they answer too."""
    started = []
    for n in range(count):
        process = await BotProcess.spawn({**stage.bot_env, "REPLICA_ID": f"replica-{n + 2}"})
        await process.wait_for("bot_started")
        started.append(process)
    return started


async def _measure(replicas: int | None, chats: int, messages: int, runs: int) -> list[Load]:
    loads = []
    for _ in range(runs):
        async with contextlib.AsyncExitStack() as stack:
            env = {}
            if replicas is not None:
                url = await stack.enter_async_context(_schema())
                if url is None:
                    return []
                env = {"DATABASE_URL": url}
            stage = await stack.enter_async_context(Stage(env=env, flood_interval=1.0))
            for process in await _more_replicas(stage, (replicas or 1) - 1):
                stack.push_async_callback(process.kill)
            loads.append(await drive(stage, list(range(10_001, 10_001 + chats)), messages))
    return loads


def _rows(label: str, loads: list[Load]) -> list[Row]:
    rates = [len(load.turns) / load.wall_s for load in loads]
    found = [row(FIGURE, f"answers/s, {label}", rates, "/s")]
    for pct in (50, 99):
        values = [percentile([t.overhead_s * 1000 for t in ld.turns], pct) for ld in loads]
        found.append(row(FIGURE, f"overhead p{pct}, {label}", values, "ms"))
    return found


async def _run(scale: str, runs: int) -> list[Row]:
    chats, messages = LOAD[scale]
    rows: list[Row] = []
    for label, replicas in SETUPS:
        loads = await _measure(replicas, chats, messages, runs)
        if not loads:
            return [*rows, not_built(FIGURE, "PostgreSQL does not answer on 127.0.0.1:5432")]
        rows += _rows(f"{label} ({chats} chats × {messages})", loads)
    return rows


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 7 at this scale; runs overrides the scale's number of runs."""
    return asyncio.run(_run(scale, runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
