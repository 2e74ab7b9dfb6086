"""`python -m bench [--smoke|--quick] [--only NAMES] [--runs N] [--json FILE] [--profile]`.

Runs the figure modules (each `run(scale) -> list[row]`, see bench/rows.py) and prints one
Markdown table under a header with the machine's facts. --profile instead records the bot
process with py-spy during the overhead load and writes an SVG under bench/out/.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ModelTiming, bot_python
from bench.rows import Row, not_built, table

# module name: the figures it builds; storage is built on another branch and merged later.
MODULES = {
    "overhead": "1. Overhead, 2. Concurrency",
    "streaming": "3. First visible text",
    "storage": "4. Storage scaling",
    "memory": "5. Memory",
    "startup": "6. Start-up",
    "replicas": "7. Replicas",
}


def machine() -> dict[str, str]:
    """The facts a reader needs to compare a table with their own."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "unknown",
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "model_timing": ModelTiming().describe(),
        "bot_python": bot_python(),
    }


def run_module(name: str, scale: str, runs: int | None) -> list[Row]:
    """The module's rows; a row saying "not built" when the module does not exist yet."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return [not_built(MODULES[name], f"bench/{name}.py is not on this branch")]
    try:
        module = importlib.import_module(f"bench.{name}")
    except ImportError as exc:  # e.g. a dependency of a module merged from another branch
        return [not_built(MODULES[name], f"bench/{name}.py does not import: {exc}")]
    if runs is not None and "runs" in inspect.signature(module.run).parameters:
        rows: list[Row] = module.run(scale, runs=runs)
    else:
        rows = module.run(scale)
    return rows


def header(facts: dict[str, str], scale: str, seconds: dict[str, float], load: str) -> str:
    took = ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items())
    return "\n".join(
        [
            f"Benchmark ({scale}) on {facts['date']}, commit {facts['commit']}",
            f"Machine: {facts['cpus']} CPUs ({facts['cpu_model']}), Python {facts['python']},"
            f" Linux {facts['kernel']}; load average {load} before, {facts['load_average']} after",
            f"Fake model: {facts['model_timing']}",
            f"Bot interpreter: {facts['bot_python']}",
            f"Took: {took}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_const", dest="scale", const="smoke")
    group.add_argument("--quick", action="store_const", dest="scale", const="quick")
    parser.set_defaults(scale="full")
    parser.add_argument("--only", help=f"comma-separated modules, of: {', '.join(MODULES)}")
    parser.add_argument("--runs", type=int, help="repeat each measurement N times")
    parser.add_argument("--json", type=Path, help="also write the rows and facts to FILE")
    parser.add_argument("--profile", action="store_true", help="py-spy the overhead load")
    args = parser.parse_args()
    if args.profile:
        from bench.profile import profile  # noqa: PLC0415 - only --profile needs py-spy

        sys.exit(profile(args.scale))
    names = args.only.split(",") if args.only else list(MODULES)
    unknown = set(names) - set(MODULES)
    if unknown:
        parser.error(f"unknown module(s): {', '.join(sorted(unknown))}")
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())  # other work on the machine
    for name in names:
        started = time.monotonic()
        rows += run_module(name, args.scale, args.runs)
        seconds[name] = time.monotonic() - started
        print(f"{name}: {seconds[name]:.0f} s", file=sys.stderr)
    facts = machine()
    facts["load_average_before"] = load_before
    print(header(facts, args.scale, seconds, load_before), end="\n\n")
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"scale": args.scale, "machine": facts, "seconds": seconds, "rows": rows}
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
