"""The bot token and API key never appear in any log line of a full scenario."""

from __future__ import annotations

from tests.fakes.openai import Error
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.running import API_KEY, TOKEN, LogCapture, RunningBot


class TestSecretsInLogs:
    async def test_full_scenario_logs_no_secret(self, bot: RunningBot, logs: LogCapture) -> None:
        """Commands, answers, model failures and Telegram errors, logged at DEBUG: no secret."""
        bot.telegram.send_private_text(PRIVATE, "/start")
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE, 2)
        bot.model.script(
            Error(401, "Incorrect API key provided: sk-fake...", code="invalid_api_key")
        )
        bot.telegram.send_private_text(PRIVATE, "fail please")
        await answer_in(bot, PRIVATE, 3)
        bot.telegram.fail_next("sendMessage", status=500, times=1)
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=5, first_name="Eve")
        await answer_in(bot, GROUP, 1)
        await bot.restart()
        assert len(logs.events) > 10
        failures = ("handler_error", "telegram_send_retry", "stream_update_skipped")
        assert any(logs.named(event) for event in failures)
        assert TOKEN not in logs.text
        assert TOKEN.split(":")[1] not in logs.text
        assert API_KEY not in logs.text

    async def test_redaction_applies_to_library_logs(self, logs: LogCapture) -> None:
        """A third-party log line that contains the token (e.g. a URL) is redacted."""
        import logging

        logging.getLogger("telegram.ext").warning("GET https://api/bot%s/getMe failed", TOKEN)
        logging.getLogger("some.lib").error("key=%s", API_KEY)
        assert TOKEN not in logs.text and API_KEY not in logs.text
        assert logs.text.count("[REDACTED]") == 2
