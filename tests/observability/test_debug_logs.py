"""LOG_LEVEL=DEBUG shows the bot's own debug events, never what people wrote (the libraries'
debug lines carry whole updates and API parameters)."""

from __future__ import annotations

import logging

from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot


class TestDebugLevel:
    async def test_no_message_text_in_debug_logs(self, bot: RunningBot, logs: LogCapture) -> None:
        """A message and its answer: our debug events are there, the words are not."""
        bot.telegram.send_private_text(PRIVATE, "my private words 4711")
        assert await answer_in(bot, PRIVATE) == "echo: my private words 4711"
        await logs.wait_for("reply_finished")
        assert logs.named("update_received")  # debug events of our own are shown
        assert "private words" not in logs.text
        assert not [
            e
            for e in logs.events
            if str(e.get("logger", "")).startswith("telegram") and e.get("level") == "debug"
        ]

    def test_library_loggers_stay_at_info_or_above(self, logs: LogCapture) -> None:
        """python-telegram-bot's and aiohttp's loggers never go below INFO; httpx's, openai's
        (URLs with the token, request bodies) and aiohttp's access log stay at WARNING."""
        assert logging.getLogger().level == logging.DEBUG
        for name in ("telegram", "telegram.Bot", "telegram.ext.Application", "aiohttp.server"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.INFO, name
        for name in ("httpx", "openai", "aiohttp.access"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
