"""The benchmark at tiny sizes, so that it cannot rot; benchmarks are not tests: no timings here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Figures measured against bench/floor.py in the same run, and their rows that have no floor.
FLOORED = ("1.", "2.", "5.", "6.")
NO_FLOOR = ("fakes + driver CPU", "429s")
NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?")  # "3.1 ms", "1.09", "10,000 chats"


def expected_figures() -> list[str]:
    """Figure numbers; 4 comes from bench/storage.py, once that module is on the branch."""
    storage = (ROOT / "bench" / "storage.py").exists()
    return ["1.", "2.", "3.", *(["4."] if storage else []), "5.", "6.", "7."]


class TestSmoke:
    def test_every_figure_has_a_number(self, tmp_path: Path) -> None:
        """`python -m bench --smoke --json FILE` reports a numeric value for every figure, and
        the framework-free floor's value and the ratio beside every bot figure it has."""
        out = tmp_path / "bench.json"
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,  # figure 7 starts seven bot processes
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads(out.read_text())["rows"]
        for figure in expected_figures():
            found = [r for r in rows if r["figure"].startswith(figure)]
            assert found, f"{figure} is missing"
            for row in found:
                assert NUMBER.match(row["value"]), f"{figure} {row['measure']}: {row['value']}"
        assert "| figure | measure |" in done.stdout
        floored = [r for r in rows if r["figure"].startswith(FLOORED)]
        assert floored, "no figure was measured against the floor"
        for row in floored:
            if row.get("floor_median") is None:
                assert row["measure"].startswith(NO_FLOOR), row["measure"]
            else:
                assert row["floor_median"] >= 0, row["measure"]
                assert row["ratio"], row["measure"]
