"""Cost estimates from per-model prices (USD per one million tokens)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Price


def cost_usd(
    prices: Mapping[str, Price], model: str, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """The estimated cost of one request, or None when the model has no configured price.

    A price configured for a model name also applies to provider-prefixed names
    ("openai/gpt-4o-mini" uses the price of "gpt-4o-mini").
    """
    price = prices.get(model) or prices.get(model.rsplit("/", 1)[-1])
    if price is None:
        return None
    return (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1e6
