"""/metrics over HTTP: counters and histograms move after a scripted conversation.

Metrics are process-wide (prometheus-client's default registry), so every assertion is on the
difference between two scrapes around what the test does.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.openai import Block, Error, Reply
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.service import MetricsSnapshot, get, unused_port


@pytest.fixture
async def origin(bot: RunningBot) -> str:
    """The bot restarted with its health server (and a price for gpt-test)."""
    port = unused_port()
    await bot.restart(HEALTH_PORT=str(port), MODEL_PRICES="gpt-test=1000/2000")
    return f"http://127.0.0.1:{port}"


class TestMetrics:
    async def test_served_in_prometheus_format(self, origin: str) -> None:
        """/metrics is Prometheus' text format, with the process metrics too."""
        status, body = await get(f"{origin}/metrics")
        assert status == 200
        assert "# TYPE llmbot_answers_sent_total counter" in body
        assert "# TYPE llmbot_model_latency_seconds histogram" in body
        assert "process_resident_memory_bytes" in body

    async def test_an_answer_moves_the_counters_and_histograms(
        self, bot: RunningBot, origin: str, logs: LogCapture
    ) -> None:
        """One answered message: update, answer, tokens, cost, latency and TTFT recorded."""
        before = await MetricsSnapshot.scrape(origin)
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE)
        [done] = await logs.wait_for("reply_finished")
        after = await MetricsSnapshot.scrape(origin)
        model = {"model": "gpt-test"}
        assert after.delta(before, "llmbot_updates_received_total", type="message") == 1
        assert after.delta(before, "llmbot_answers_sent_total") == 1
        prompt = after.delta(before, "llmbot_tokens_total", kind="prompt", **model)
        output = after.delta(before, "llmbot_tokens_total", kind="completion", **model)
        assert (prompt, output) == (done["prompt_tokens"], done["completion_tokens"])
        assert after.delta(before, "llmbot_cost_usd_total", **model) == pytest.approx(
            done["cost_usd"]
        )
        assert after.delta(before, "llmbot_model_latency_seconds_count", **model) == 1
        assert after.delta(before, "llmbot_model_ttft_seconds_count", **model) == 1
        assert after.delta(before, "llmbot_model_latency_seconds_sum", **model) > 0
        assert after.value("llmbot_answers_in_flight") == 0

    async def test_in_flight_counts_an_answer_being_generated(
        self, bot: RunningBot, origin: str
    ) -> None:
        """While the model is still answering, the in-flight gauge shows it."""
        release = asyncio.Event()
        bot.model.script(Block(release, then=Reply("done")))
        bot.telegram.send_private_text(PRIVATE, "wait")
        await bot.model.wait_for_requests(1, timeout=10)
        during = await MetricsSnapshot.scrape(origin)
        release.set()
        await answer_in(bot, PRIVATE)
        assert during.value("llmbot_answers_in_flight") == 1

    async def test_retries_flood_waits_and_errors_by_type(
        self, bot: RunningBot, origin: str, logs: LogCapture
    ) -> None:
        """A model 500 (retried), Telegram flood control (waited out), a 401 (an error by type)."""
        before = await MetricsSnapshot.scrape(origin)
        bot.model.script(Error(500, "oops", headers={"retry-after": "0"}))
        bot.telegram.fail_next("sendMessage", status=429, retry_after=1)
        bot.telegram.send_private_text(PRIVATE, "one")
        assert await answer_in(bot, PRIVATE, 1, timeout=20) == "echo: one"
        bot.model.script(Error(401, "Incorrect API key provided", code="invalid_api_key"))
        bot.telegram.send_private_text(PRIVATE, "two")
        await answer_in(bot, PRIVATE, 2, timeout=20)
        await logs.wait_for("reply_finished", count=2)
        after = await MetricsSnapshot.scrape(origin)
        assert after.delta(before, "llmbot_model_retries_total", error_type="unavailable") == 1
        assert after.delta(before, "llmbot_telegram_retries_total", error="RetryAfter") == 1
        assert after.delta(before, "llmbot_flood_waits_total") == 1
        assert after.delta(before, "llmbot_flood_wait_seconds_total") >= 1
        assert after.delta(before, "llmbot_errors_total", type="auth") == 1
        assert after.delta(before, "llmbot_answers_sent_total") == 1
