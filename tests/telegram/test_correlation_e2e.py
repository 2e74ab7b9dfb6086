"""End to end: every log line written while an update is handled carries a correlation id."""

from __future__ import annotations

from collections import defaultdict

from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot


class TestCorrelationId:
    async def test_one_id_per_update_on_every_line(self, bot: RunningBot, logs: LogCapture) -> None:
        """Lines of one update share one correlation_id; another update gets another one."""
        bot.telegram.send_private_text(PRIVATE, "hello")
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=7)
        await answer_in(bot, PRIVATE)
        await answer_in(bot, GROUP)
        await logs.wait_for("reply_finished", count=2)
        ids: dict[int, set[str]] = defaultdict(set)
        for event in logs.events:
            if "update_id" in event:
                assert event.get("correlation_id"), event
                ids[event["update_id"]].add(event["correlation_id"])
        assert len(ids) == 2
        assert all(len(found) == 1 for found in ids.values())
        assert len(set.union(*ids.values())) == 2
        finished = logs.named("reply_finished")
        assert {e["correlation_id"] for e in finished} == set.union(*ids.values())
