"""The row contract every figure module returns, and the statistics behind its values.

A figure module exposes `run(scale) -> list[dict]` (scale: "smoke", "quick" or "full"); each row
has the keys figure, measure, value, spread, target (all str) and met (bool, or None when the
row has no target). Values are medians over repeated runs; spread is their min–max.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]
MET = {True: "✓", False: "✗", None: "—"}


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile, linearly interpolated between the closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def row(
    figure: str,
    measure: str,
    values: Sequence[float],
    unit: str = "",
    *,
    target: str = "",
    limit: float | None = None,
    digits: int = 1,
    floor: Sequence[float] | None = None,
) -> Row:
    """A row from one value per run: the median, min–max, and met when median ≤ limit; with
    `floor` (the same measure of bench/floor.py in the same run), its median and the ratio."""
    median = statistics.median(values)
    suffix = f" {unit}" if unit else ""
    spread = f"{min(values):.{digits}f}–{max(values):.{digits}f}" if len(values) > 1 else "1 run"
    floor_median = statistics.median(floor) if floor else None
    return {
        "figure": figure,
        "measure": measure,
        "value": f"{median:.{digits}f}{suffix}",
        "spread": spread,
        "target": target,
        "met": None if limit is None else median <= limit,
        "median": median,  # the number behind value, for --json readers
        "runs": len(values),
        "floor": "" if floor_median is None else f"{floor_median:.{digits}f}{suffix}",
        "floor_median": floor_median,
        "ratio": _ratio(median, floor_median),
    }


def _ratio(median: float, floor: float | None) -> str:
    """How many times the floor's value the bot's is ("" without a floor, "∞" over zero)."""
    if floor is None:
        return ""
    if floor <= 0:
        return "∞" if median > 0 else "1.0×"
    return f"{median / floor:.1f}×"


def not_built(figure: str, why: str) -> Row:
    """A row for a figure whose module is not there (yet)."""
    return {
        "figure": figure,
        "measure": why,
        "value": "not built",
        "spread": "",
        "target": "",
        "met": None,
    }


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table; floor and × floor: bench/floor.py's median in the same run
    and the bot's as a multiple of it (— where the floor has no such figure)."""
    lines = [
        "| figure | measure | median | spread (min–max) | floor | × floor | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['figure']} | {r['measure']} | {r['value']} | {r['spread']}"
        f" | {r.get('floor') or '—'} | {r.get('ratio') or '—'} | {r['target'] or '—'}"
        f" | {MET[r['met']]} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(run: Callable[..., list[Row]], doc: str | None) -> None:
    """`python -m bench.<module> [--smoke|--quick] [--runs N] [--json]`: the module's rows."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_const", dest="scale", const="smoke")
    group.add_argument("--quick", action="store_const", dest="scale", const="quick")
    parser.set_defaults(scale="full")
    parser.add_argument("--runs", type=int, help="repeat each measurement N times")
    parser.add_argument("--json", action="store_true", help="one JSON row per line")
    args = parser.parse_args()
    rows = run(args.scale, runs=args.runs)
    if args.json:
        for found in rows:
            print(json.dumps(found, ensure_ascii=False))
    else:
        print(table(rows))
