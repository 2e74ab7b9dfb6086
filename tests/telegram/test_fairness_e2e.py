"""End to end: one chat's flood never stalls another chat, and every limit of a turn holds."""

from __future__ import annotations

import time

from tests.support.chats import PRIVATE
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import until

OTHER = 1002
FLOOD = 300
SLOW_TTFT_S = 2.0


async def other_chat_delay(bot: RunningBot, timeout: float) -> float:
    """Seconds from the other chat's message to the model call for it (timeout if none)."""
    sent = time.monotonic()
    bot.telegram.send_private_text(OTHER, "are you there?")

    def asked() -> bool:
        return any(
            "are you there?" in str(r.messages[-1].get("content")) for r in bot.model.requests
        )

    try:
        await until(asked, "the other chat's model call did not start", timeout=timeout)
    except AssertionError:
        return timeout
    [request] = [r for r in bot.model.requests if "are you there?" in str(r.messages[-1])]
    return request.at - sent


class TestFlood:
    async def test_another_chat_is_not_delayed(self, bot: RunningBot, logs: LogCapture) -> None:
        """300 messages in one chat with a slow model: another chat's call starts within 1 s."""
        bot.model.default_ttft = SLOW_TTFT_S
        for n in range(FLOOD):
            bot.telegram.send_private_text(PRIVATE, f"flood {n}")
        await until(lambda: len(bot.model.requests) >= 1, "the flood reached no model", 10)
        delay = other_chat_delay_s = await other_chat_delay(bot, timeout=40)
        print(f"\nother chat's model call started {other_chat_delay_s:.3f} s after its message")
        assert delay < 1.0
