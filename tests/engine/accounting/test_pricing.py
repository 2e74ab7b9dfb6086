"""Cost estimates: configured prices first, then the default table; a worked example."""

from __future__ import annotations

import pytest

from bot.config import Price
from bot.engine.accounting.default_prices import DEFAULT_PRICES
from bot.engine.accounting.pricing import cost_usd, price_for


class TestWorkedExample:
    def test_gpt_4o_mini_from_the_default_table(self) -> None:
        """1,200 prompt + 350 completion tokens of gpt-4o-mini at $0.15 / $0.60 per 1M: $0.00039."""
        # 1,200 x 0.15 / 1e6 = 0.000180 ; 350 x 0.60 / 1e6 = 0.000210 ; total 0.000390
        assert cost_usd({}, "gpt-4o-mini", 1_200, 350) == pytest.approx(0.00039, abs=1e-12)

    def test_configured_price(self) -> None:
        """MODEL_PRICES my-model=2.50/10: 10,000 in + 2,000 out = $0.025 + $0.02 = $0.045."""
        prices = {"my-model": Price(2.50, 10.0)}
        assert cost_usd(prices, "my-model", 10_000, 2_000) == pytest.approx(0.045, abs=1e-12)


class TestLookup:
    def test_configured_price_wins_over_the_default(self) -> None:
        """An entry of MODEL_PRICES replaces the default table's entry of the same name."""
        assert price_for({"gpt-4o": Price(1, 2)}, "gpt-4o") == Price(1, 2)

    def test_zero_marks_a_model_free(self) -> None:
        """name=0/0 makes a default-priced name cost nothing (a local model, say)."""
        assert cost_usd({"gpt-4o-mini": Price(0, 0)}, "gpt-4o-mini", 1000, 1000) == 0

    @pytest.mark.parametrize(
        ("name", "table_name"),
        [
            ("openai/gpt-4o-mini", "gpt-4o-mini"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
            ("anthropic/claude-3.5-sonnet", "claude-3.5-sonnet"),
            ("mistral-large-latest", "mistral-large"),
        ],
    )
    def test_prefixes_and_version_suffixes_are_ignored(self, name: str, table_name: str) -> None:
        """A provider prefix and a date or -latest suffix do not hide a known model."""
        assert price_for({}, name) == DEFAULT_PRICES[table_name]

    def test_unknown_model_has_no_price(self) -> None:
        """A model in neither table has no cost (None), not a cost of zero."""
        assert cost_usd({}, "llama3.2", 100, 100) is None

    def test_every_default_is_positive_and_output_not_cheaper(self) -> None:
        """The default table holds plausible prices: positive, output at least input."""
        for price in DEFAULT_PRICES.values():
            assert 0 < price.input_per_m <= price.output_per_m < 100
