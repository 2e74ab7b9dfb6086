"""Cost estimates from per-model prices (USD per one million tokens).

Configured prices (`MODEL_PRICES`) come first; the default table (default_prices.py, estimates)
covers common models that are not configured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.config import Price
from bot.engine.accounting.default_prices import DEFAULT_PRICES

# "gpt-4o-2024-08-06", "claude-3-5-haiku-20241022", "mistral-large-latest"
_VERSION_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


def _names(model: str) -> list[str]:
    """The model's name, without provider prefix, and without a date or "-latest" suffix."""
    base = model.rsplit("/", 1)[-1]
    return list(dict.fromkeys([model, base, _VERSION_SUFFIX.sub("", base)]))


def price_for(prices: Mapping[str, Price], model: str) -> Price | None:
    """The model's price: configured first, then the default table; None when neither has it."""
    names = _names(model)
    for table in (prices, DEFAULT_PRICES):
        for name in names:
            if (price := table.get(name)) is not None:
                return price
    return None


def cost_usd(
    prices: Mapping[str, Price], model: str, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """The estimated cost of one request, or None when the model has no price.

    A price configured for a model name also applies to provider-prefixed names
    ("openai/gpt-4o-mini" uses the price of "gpt-4o-mini").
    """
    price = price_for(prices, model)
    if price is None:
        return None
    return (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1e6
