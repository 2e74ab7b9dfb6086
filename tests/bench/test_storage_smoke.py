"""The storage benchmark (figure 4) still runs: tiny sizes, its rows' shape, no timings judged."""

from __future__ import annotations

import re

import pytest

from bench.storage import FIGURE, run

KEYS = {"figure", "measure", "value", "spread", "target", "met"}
Row = dict[str, object]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return run("smoke")  # a few seconds: run once for the module


class TestStorageSmoke:
    def test_rows_follow_the_contract(self, rows: list[Row]) -> None:
        """Every row has the contract's keys, this figure's name and a positive number."""
        assert rows
        for row in rows:
            assert set(row) == KEYS
            assert row["figure"] == FIGURE
            assert isinstance(row["measure"], str)
            assert isinstance(row["spread"], str)
            assert isinstance(row["target"], str)
            assert row["met"] is None or isinstance(row["met"], bool)
            number = re.match(r"\d+(\.\d+)?", str(row["value"]))
            assert number is not None, row["value"]
            assert float(number.group()) > 0

    def test_each_shape_has_a_verdict(self, rows: list[Row]) -> None:
        """Both shapes, with budgets off and on, end with a slowest/fastest ratio and target."""
        verdicts = [row for row in rows if row["met"] is not None]
        assert len(verdicts) == 4
        assert all(row["target"] for row in verdicts)
