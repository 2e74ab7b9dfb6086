"""Default prices for common models: ESTIMATES, in US dollars per one million tokens.

These are list prices as published by the providers around mid-2025, copied here so that cost
figures and money budgets work out of the box. Providers change prices, discount cached input,
charge more for very long prompts, and resellers (OpenRouter and others) add their own margins:
CHECK THEM against your provider's price page. Any entry of `MODEL_PRICES` replaces the entry of
the same name here; `MODEL_PRICES=name=0/0` marks a model as free (a local model, say).

Names are matched after dropping a provider prefix ("openai/gpt-4o-mini") and a date or
"-latest" suffix ("gpt-4o-2024-08-06", "claude-3-5-haiku-latest").
"""

from __future__ import annotations

from types import MappingProxyType

from bot.config import Price

_TABLE: dict[str, tuple[float, float]] = {
    # OpenAI
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    # Anthropic (OpenRouter spells versions with dots, Anthropic with hyphens)
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3.7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3.5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3.5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
    # Google (prompts up to 200k tokens)
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-1.5-flash": (0.075, 0.30),
    # DeepSeek
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
    # Mistral
    "mistral-large": (2.00, 6.00),
    "mistral-small": (0.10, 0.30),
}

DEFAULT_PRICES: MappingProxyType[str, Price] = MappingProxyType(
    {name: Price(inp, out) for name, (inp, out) in _TABLE.items()}
)
