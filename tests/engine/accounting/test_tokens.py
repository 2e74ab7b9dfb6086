"""Token estimates calibrated from reported usage."""

from __future__ import annotations

from math import ceil

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.accounting.tokens import (
    MAX_BYTES_PER_TOKEN,
    MESSAGE_OVERHEAD_TOKENS,
    PRIOR_BYTES_PER_TOKEN,
    Calibrator,
    estimate,
    measure_usage,
)
from bot.engine.models.client import Completion, TokenCount


def request(sizes: list[int]) -> list[dict[str, str]]:
    return [{"role": "user", "content": "x" * size} for size in sizes]


def reported(messages: list[dict[str, str]], ratio: float) -> int:
    """What a provider whose tokenizer runs at `ratio` bytes per token would report."""
    return sum(round(len(m["content"]) / ratio) + MESSAGE_OVERHEAD_TOKENS for m in messages)


class TestCalibrator:
    def test_starts_at_four_bytes_per_token(self) -> None:
        """Before any usage is seen, a model's text counts four bytes per token."""
        calibrator = Calibrator()
        assert calibrator.bytes_per_token("m") == PRIOR_BYTES_PER_TOKEN
        assert calibrator.counter("m")("x" * 40) == 10 == estimate("x" * 40)

    @settings(max_examples=60, deadline=None)
    @given(
        ratio=st.floats(min_value=1.5, max_value=8.0),
        sizes=st.lists(
            st.lists(st.integers(min_value=200, max_value=3000), min_size=1, max_size=8),
            min_size=12,
            max_size=30,
        ),
    )
    def test_converges_to_the_providers_ratio(self, ratio: float, sizes: list[list[int]]) -> None:
        """After a dozen reported requests the learnt ratio is within 10% of the true one."""
        calibrator = Calibrator()
        for request_sizes in sizes:
            messages = request(request_sizes)
            calibrator.observe("m", messages, reported(messages, ratio))
        learnt = calibrator.calibration("m")
        assert learnt is not None and learnt.samples == len(sizes)
        assert abs(learnt.bytes_per_token - ratio) / ratio < 0.1

    def test_models_are_calibrated_apart(self) -> None:
        """What one model's usage teaches does not change another model's estimate."""
        calibrator = Calibrator()
        messages = request([2000])
        calibrator.observe("cjk", messages, reported(messages, 2.0))
        assert calibrator.bytes_per_token("cjk") < PRIOR_BYTES_PER_TOKEN
        assert calibrator.bytes_per_token("other") == PRIOR_BYTES_PER_TOKEN

    def test_small_or_odd_reports_teach_nothing(self) -> None:
        """Tiny requests and reports below the per-message overhead are ignored."""
        calibrator = Calibrator()
        assert calibrator.observe("m", request([50]), 20) is None
        assert calibrator.observe("m", request([500, 500]), 2 * MESSAGE_OVERHEAD_TOKENS) is None
        assert calibrator.calibration("m") is None

    def test_samples_are_clamped(self) -> None:
        """An absurd report moves the estimate at most to the plausible bound."""
        calibrator = Calibrator()
        for _ in range(50):
            calibrator.observe("m", request([5000]), MESSAGE_OVERHEAD_TOKENS + 1)
        assert calibrator.bytes_per_token("m") <= MAX_BYTES_PER_TOKEN


class TestMeasureUsage:
    def test_reported_usage_wins(self) -> None:
        """When the provider reports usage, it is recorded as is, not estimated."""
        done = Completion("answer", TokenCount(11, 3), attempts=1, latency_s=0, ttft_s=None)
        usage = measure_usage("m", request([100]), done, Calibrator().counter("m"), {})
        assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (11, 3, False)

    def test_missing_usage_is_estimated_with_the_counter(self) -> None:
        """Without usage, tokens are counted with the (calibrated) counter and marked estimated."""
        done = Completion("y" * 30, None, attempts=1, latency_s=0, ttft_s=None)
        calibrator = Calibrator()
        messages = request([3000])
        calibrator.observe("m", messages, reported(messages, 3.0))
        ratio = calibrator.bytes_per_token("m")
        usage = measure_usage("m", messages, done, calibrator.counter("m"), {})
        assert usage.estimated
        assert usage.prompt_tokens == ceil(3000 / ratio) + MESSAGE_OVERHEAD_TOKENS
        assert usage.completion_tokens == ceil(30 / ratio)
