"""`python -m bench --profile`: where the bot process spends its time during the overhead load.

py-spy (the `bench` extra) samples the real bot process from outside while the 50 chats × 5
load of figure 1 runs (3 chats × 2 with --smoke), and writes a flame graph and a speedscope
file under bench/out/. py-spy needs ptrace: root, or CAP_SYS_PTRACE in a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Stage
from bench.overhead import LOADS, measure, overhead_rows

OUT = Path(__file__).parent / "out"


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is missing: make .venv/.installed-bench (the bench extra)")
    return found


@contextlib.asynccontextmanager
async def recording(stage: Stage, output: Path, fmt: str) -> AsyncIterator[None]:
    """py-spy record on the bot process for the duration of the block."""
    spy = await asyncio.create_subprocess_exec(
        _py_spy(), "record", "--pid", str(stage.bot.pid), "--rate", "250",
        "--format", fmt, "--output", str(output), "--nonblocking",
    )  # fmt: skip
    await asyncio.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        await asyncio.wait_for(spy.wait(), 60)


def _recording_of(
    stage: Stage, *, output: Path, fmt: str
) -> contextlib.AbstractAsyncContextManager[None]:
    return recording(stage, output, fmt)


async def _profile(scale: str) -> int:
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    chats, messages = LOADS[scale][0]
    written = []
    for fmt, suffix in (("flamegraph", "svg"), ("speedscope", "speedscope.json")):
        output = OUT / f"overhead-{stamp}.{suffix}"
        during = functools.partial(_recording_of, output=output, fmt=fmt)
        measured = await measure(chats, messages, 1, during)
        written.append(output)
        for found in overhead_rows(measured):
            print(f"{found['measure']}: {found['value']} (under py-spy, {fmt})")
    for path in written:
        print(f"wrote {path}" if path.exists() else f"py-spy wrote nothing to {path}")
    if written[-1].exists():
        for share, what in shares(written[-1]):
            print(f"{share:5.1f}%  {what}")
    return 0 if all(path.exists() for path in written) else 1


# Where the bot's samples fall, first match wins: (label, thread name part, frame test).
CATEGORIES = [
    ("SQLite worker thread (aiosqlite)", "connection_worker", lambda name, file: True),
    ("model call: openai SDK + httpx (LLMClient)", "", lambda n, f: n.startswith("LLMClient.")),
    ("Bot API calls: python-telegram-bot + httpx", "", lambda n, f: n == "Bot._post"),
    ("storage calls on the event loop (bot/storage)", "", lambda n, f: "bot/storage/" in f),
    ("logging", "", lambda n, f: "structlog" in f or f.endswith("logging/__init__.py")),
    ("the rest: event loop, scheduling, unreadable stacks", "", lambda n, f: True),
]


def shares(speedscope: Path) -> list[tuple[float, str]]:
    """The share of samples in each of CATEGORIES, from a py-spy speedscope file."""
    data = json.loads(speedscope.read_text())
    frames = data["shared"]["frames"]
    counts = dict.fromkeys((label for label, _, _ in CATEGORIES), 0.0)
    for thread in data["profiles"]:
        for stack, weight in zip(thread["samples"], thread["weights"], strict=True):
            named = [(frames[i]["name"], frames[i].get("file", "")) for i in stack]
            for label, thread_part, test in CATEGORIES:
                if thread_part in thread["name"] and any(test(n, f) for n, f in named):
                    counts[label] += weight
                    break
    total = sum(counts.values()) or 1.0
    return [(100 * count / total, label) for label, count in counts.items()]


def profile(scale: str) -> int:
    """Record the bot during the overhead load; 0 when the files were written."""
    return asyncio.run(_profile(scale))
