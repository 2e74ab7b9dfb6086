"""End to end: one chat's flood never stalls another chat, and every limit of a turn holds.

The flood test reports the other chat's delay (run with -s to see it): before fair scheduling
its model call had not started 40 s after its message; after, it starts within milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from bot.engine import errors
from bot.telegram.handlers.admission import DROPPED
from tests.fakes.openai import Reply
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import quiet_for, until

OTHER = 1002
FLOOD = 300
SLOW_TTFT_S = 2.0
RATE_LIMIT = 5
TOO_FAST = "You're sending messages too fast."


def requests_from(bot: RunningBot, text_start: str) -> int:
    """How many model requests ended with a user message starting with `text_start`."""
    return sum(
        str(r.messages[-1].get("content", "")).startswith(text_start) for r in bot.model.requests
    )


async def other_chat_delay(bot: RunningBot, timeout: float) -> float:
    """Seconds from the other chat's message to the model call for it (`timeout` if none)."""
    sent = time.monotonic()
    bot.telegram.send_private_text(OTHER, "are you there?")

    def asked() -> bool:
        return requests_from(bot, "are you there?") == 1

    try:
        await until(asked, "the other chat's model call did not start", timeout=timeout)
    except AssertionError:
        return timeout
    [request] = [r for r in bot.model.requests if "are you there?" in str(r.messages[-1])]
    return request.at - sent


class TestFlood:
    ENV: ClassVar[dict[str, str]] = {"RATE_LIMIT_MESSAGES": str(RATE_LIMIT)}

    async def test_another_chat_is_not_delayed(self, bot: RunningBot, logs: LogCapture) -> None:
        """300 messages in one chat, slow model: another chat's call starts within 1 s; the
        flood gets at most its rate limit of model calls and one notice."""
        bot.model.default_ttft = SLOW_TTFT_S
        for n in range(FLOOD):
            bot.telegram.send_private_text(PRIVATE, f"flood {n}")
        await until(lambda: requests_from(bot, "flood") >= 1, "the flood reached no model", 10)
        await until(
            lambda: len(logs.named("update_refused")) >= FLOOD - RATE_LIMIT - 10,
            "the flood was not refused as it arrived",
            timeout=20,
        )
        delay = await other_chat_delay(bot, timeout=40)
        print(f"\nother chat's model call started {delay:.3f} s after its message")
        assert delay < 1.0
        assert await answer_in(bot, OTHER, timeout=10) == "echo: are you there?"

        def echoes() -> list[str]:
            return [m.text for m in bot.telegram.messages(PRIVATE) if m.text.startswith("echo:")]

        await until(lambda: len(echoes()) == RATE_LIMIT, "the admitted flood was not answered", 30)
        await quiet_for(bot, 0.5, timeout=30)
        assert requests_from(bot, "flood") == RATE_LIMIT
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        notices = [t for t in texts if not t.startswith("echo: ")]
        assert len(notices) <= 2
        assert sum(t.startswith(TOO_FAST) for t in notices) == 1
        assert texts.count(DROPPED) <= 1
        assert [t for t in texts if t.startswith("echo: ")] == [
            f"echo: flood {n}" for n in range(RATE_LIMIT)
        ]


class TestQueueCap:
    ENV: ClassVar[dict[str, str]] = {"RATE_LIMIT_MESSAGES": "0", "MAX_QUEUED_PER_CHAT": "3"}

    async def test_beyond_the_cap_dropped_with_one_notice(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A full queue drops what arrives, tells the chat once per burst, logs every drop."""
        hold = asyncio.Event()
        bot.model.script(Reply("first answer", hold=hold, hold_after=1))
        for n in range(10):
            bot.telegram.send_private_text(PRIVATE, f"m{n}")
        drops = await logs.wait_for("update_dropped", 7, timeout=10)
        assert [d["told"] for d in drops] == [True] + [False] * 6
        assert {d["queued"] for d in drops} == {3}
        assert {d["chat_id"] for d in drops} == {PRIVATE}
        assert await answer_in(bot, PRIVATE) == DROPPED
        hold.set()
        await answer_in(bot, PRIVATE, 4, timeout=10)
        texts = [m.text for m in bot.telegram.messages(PRIVATE)]
        assert texts == [DROPPED, "first answer", "echo: m1", "echo: m2"]
        assert [t[0] for t in stored_turns(bot)] == ["m0", "m1", "m2"]
        bot.telegram.send_private_text(PRIVATE, "after the burst")
        assert await answer_in(bot, PRIVATE, 5) == "echo: after the burst"


class TestTurnTimeout:
    ENV: ClassVar[dict[str, str]] = {"MODEL_TURN_TIMEOUT": "1"}

    async def test_generation_stopped_user_told(self, bot: RunningBot, logs: LogCapture) -> None:
        """Past MODEL_TURN_TIMEOUT generation stops: the user is told, the turn stored failed."""
        hold = asyncio.Event()
        bot.model.script(Reply("never finished", chunks=4, hold=hold, hold_after=1))
        started = time.monotonic()
        bot.telegram.send_private_text(PRIVATE, "write a novel")
        assert await answer_in(bot, PRIVATE, timeout=10) == errors.TurnTimedOut.user_message
        assert 1.0 <= time.monotonic() - started < 5
        [timed_out] = await logs.wait_for("turn_timed_out")
        assert timed_out["limit_s"] == 1.0
        [finished] = await logs.wait_for("reply_finished")
        assert finished["error_type"] == "turn_timeout"
        assert stored_turns(bot) == [("write a novel", "failed", "turn_timeout")]
        hold.set()
        bot.telegram.send_private_text(PRIVATE, "short one")
        assert await answer_in(bot, PRIVATE, 2) == "echo: short one"


class TestFloodWaitCap:
    ENV: ClassVar[dict[str, str]] = {"FLOOD_WAIT_MAX": "1", "RECOVERY_INTERVAL_SECONDS": "1"}

    async def test_long_retry_after_leaves_the_answer_for_the_sweep(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """retry_after over FLOOD_WAIT_MAX is not waited: the sweep delivers the answer later."""
        bot.telegram.fail_next("sendMessage", 429, retry_after=30, chat_id=PRIVATE)
        started = time.monotonic()
        bot.telegram.send_private_text(PRIVATE, "hello")
        [capped] = await logs.wait_for("flood_wait_too_long", timeout=10)
        assert capped["retry_after_s"] == 30
        assert capped["max_s"] == 1.0
        await logs.wait_for("delivery_postponed", timeout=10)
        assert stored_turns(bot) == [("hello", "generated", None)]
        assert await answer_in(bot, PRIVATE, timeout=15) == "echo: hello"
        assert time.monotonic() - started < 15  # not the 30 s Telegram asked for
        await until(lambda: stored_turns(bot)[0][1] == "answered", "delivery recorded", 5)
        assert len(bot.model.requests) == 1  # delivered from storage, not asked again

    async def test_long_pause_while_streaming_leaves_the_answer_for_the_sweep(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A 429 over FLOOD_WAIT_MAX on a streamed draft: the final text is not held back for
        it; the stored answer is delivered by the sweep."""
        bot.model.script(Reply("a streamed answer in parts", chunks=5, chunk_delay=0.2))
        bot.telegram.fail_next("sendMessageDraft", 429, retry_after=30, chat_id=PRIVATE)
        started = time.monotonic()
        bot.telegram.send_private_text(PRIVATE, "stream it")
        [paused] = await logs.wait_for("stream_paused", timeout=10)
        assert paused["retry_after_s"] == 30
        await logs.wait_for("delivery_postponed", timeout=10)
        assert await answer_in(bot, PRIVATE, timeout=15) == "a streamed answer in parts"
        assert time.monotonic() - started < 15
        await until(lambda: stored_turns(bot)[0][1] == "answered", "delivery recorded", 5)
        assert len(bot.model.requests) == 1
