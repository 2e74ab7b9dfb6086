"""Token estimates calibrated by what providers report.

No tokenizer is available offline (tiktoken downloads its encodings at run time), so a text's
tokens are estimated from its UTF-8 size: bytes / bytes-per-token. The ratio starts at 4 (about
right for English with OpenAI's tokenizers) and is learnt per model: every request whose usage
the provider reports gives one sample, `our bytes / (reported prompt tokens - per-message
overhead)`, folded into a running average (the prior counts as one sample; later the average
moves by a fifth of each new sample's difference, so it follows a change in language within a
few requests). Samples are clamped to a plausible range, and the learnt ratios are stored so
they survive restarts (each of the first ten samples, then every tenth).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from math import ceil
from typing import Any

from bot.config import Price
from bot.engine.accounting.pricing import cost_usd
from bot.engine.models.client import Completion
from bot.observability.logs import get_logger
from bot.storage.records import Calibration, Usage
from bot.storage.repositories import CalibrationRepository

log = get_logger(__name__)

Counter = Callable[[str], int]

PRIOR_BYTES_PER_TOKEN = 4.0
MIN_BYTES_PER_TOKEN = 1.0  # CJK text runs at about 1.5-3 bytes per token
MAX_BYTES_PER_TOKEN = 10.0
SMOOTHING = 0.2  # the weight of each new sample once a few were seen
MIN_SAMPLE_BYTES = 200  # smaller requests say more about the overhead than about the ratio
MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators per chat message
SAVE_EVERY = 10  # once learnt, the ratio is stored every tenth sample (a restart loses little)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def estimate(text: str, bytes_per_token: float = PRIOR_BYTES_PER_TOKEN) -> int:
    """A text's tokens at the given ratio; at least one."""
    return max(1, ceil(utf8_size(text) / bytes_per_token))


IMAGE_PART_TOKENS = 800  # an estimate per image part (OpenAI: 85 + 170 per 512-pixel tile)


def content_tokens(content: str | list[dict[str, Any]], counter: Counter) -> int:
    """A message content's tokens: its text, and a fixed estimate per image part."""
    if isinstance(content, str):
        return counter(content)
    text = "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    images = sum(1 for p in content if p.get("type") == "image_url")
    return counter(text) + images * IMAGE_PART_TOKENS


def estimate_messages(messages: Sequence[dict[str, Any]], counter: Counter) -> int:
    return sum(content_tokens(m["content"], counter) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def measure_usage(
    model: str,
    messages: Sequence[dict[str, Any]],
    completion: Completion,
    counter: Counter,
    prices: Mapping[str, Price],
) -> Usage:
    """A request's usage: as the provider reported it, else estimated (and marked so)."""
    if completion.usage is not None:
        prompt, output = completion.usage.prompt_tokens, completion.usage.completion_tokens
    else:
        prompt, output = estimate_messages(messages, counter), counter(completion.text)
    return Usage(
        model=model,
        prompt_tokens=prompt,
        completion_tokens=output,
        cost_usd=cost_usd(prices, model, prompt, output),
        estimated=completion.usage is None,
    )


class Calibrator:
    """The learnt bytes-per-token ratio of each model (pure, in memory)."""

    def __init__(self, known: dict[str, Calibration] | None = None) -> None:
        self._known = dict(known or {})

    def bytes_per_token(self, model: str) -> float:
        found = self._known.get(model)
        return found.bytes_per_token if found else PRIOR_BYTES_PER_TOKEN

    def calibration(self, model: str) -> Calibration | None:
        return self._known.get(model)

    def counter(self, model: str) -> Counter:
        ratio = self.bytes_per_token(model)
        return lambda text: estimate(text, ratio)

    def observe(
        self, model: str, messages: Sequence[dict[str, Any]], prompt_tokens: int
    ) -> Calibration | None:
        """Learn from one request's reported prompt tokens; None when it says too little
        (or carried images, whose tokens say nothing of the text's)."""
        if any(not isinstance(m["content"], str) for m in messages):
            return None
        size = sum(utf8_size(m["content"]) for m in messages)
        content_tokens = prompt_tokens - MESSAGE_OVERHEAD_TOKENS * len(messages)
        if size < MIN_SAMPLE_BYTES or content_tokens <= 0:
            return None
        sample = min(MAX_BYTES_PER_TOKEN, max(MIN_BYTES_PER_TOKEN, size / content_tokens))
        old = self._known.get(model)
        seen = old.samples if old else 0
        weight = max(SMOOTHING, 1 / (seen + 2))  # the prior counts as one sample
        previous = old.bytes_per_token if old else PRIOR_BYTES_PER_TOKEN
        new = Calibration(previous + weight * (sample - previous), seen + 1)
        self._known[model] = new
        return new


class TokenCounter:
    """The calibrator, loaded from storage on first use and saved as it learns."""

    def __init__(
        self, calibrations: CalibrationRepository, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.calibrations = calibrations
        self.calibrator = Calibrator()
        self._clock = clock
        self._loaded = False
        self._loading = asyncio.Lock()

    async def _load(self) -> None:
        if self._loaded:
            return
        async with self._loading:
            if not self._loaded:
                self.calibrator = Calibrator(await self.calibrations.load())
                self._loaded = True

    async def counter(self, model: str) -> Counter:
        """Estimates tokens of `model` from text, with what was learnt so far."""
        await self._load()
        return self.calibrator.counter(model)

    async def observe(
        self, model: str, messages: Sequence[dict[str, Any]], prompt_tokens: int
    ) -> None:
        """Learn from a request whose prompt tokens the provider reported."""
        await self._load()
        estimated = estimate_messages(messages, self.calibrator.counter(model))
        learnt = self.calibrator.observe(model, messages, prompt_tokens)
        if learnt is None:
            return
        if learnt.samples <= SAVE_EVERY or learnt.samples % SAVE_EVERY == 0:
            await self.calibrations.save(model, learnt, now=self._clock())
        log.debug(
            "tokens_calibrated",
            model=model,
            reported=prompt_tokens,
            estimated=estimated,
            bytes_per_token=round(learnt.bytes_per_token, 4),
            samples=learnt.samples,
        )
