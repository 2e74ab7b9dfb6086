"""End to end: /export's size cap, who may export in groups, and HISTORY_RETENTION_DAYS."""

from __future__ import annotations

import json
import time

import pytest

from bot.engine.conversation.export import cut_note
from tests.fakes.telegram import UploadedFile
from tests.support.chats import GROUP, PRIVATE, answer_in, exported, say
from tests.support.clock import FakeClock, utc
from tests.support.database import database, db_rows, fill_turns
from tests.support.running import LogCapture, RunningBot

SMALL_CAP = 100_000  # bytes: a few thousand short turns go over it
TURNS = 5_000
DAY = 86_400.0


def group_document(bot: RunningBot, index: int) -> UploadedFile:
    document = bot.telegram.messages(GROUP)[index].document
    assert isinstance(document, UploadedFile)
    return document


class TestExportCap:
    @pytest.fixture
    async def capped(self, bot: RunningBot) -> RunningBot:
        await bot.restart(EXPORT_MAX_BYTES=str(SMALL_CAP))
        fill_turns(database(bot), f"tg:{PRIVATE}", TURNS, created_at=time.time())
        return bot

    async def test_markdown_stops_at_the_cap_with_a_note(
        self, capped: RunningBot, logs: LogCapture
    ) -> None:
        """A history over EXPORT_MAX_BYTES is cut: the oldest turns fit, the note says how many
        of the newest are missing, and the caption says so too."""
        caption = await say(capped, "/export", 1)
        document = exported(capped, 0)
        content = document.content.decode("utf-8")
        assert len(document.content) <= SMALL_CAP
        [event] = logs.named("history_exported")
        written, left_out = event["turns"], event["left_out"]
        assert written + left_out == TURNS and 0 < written < TURNS
        assert "\nquestion 0\n" in content and f"\nquestion {written - 1}\n" in content
        assert f"\nquestion {written}\n" not in content
        assert content.rstrip().endswith(cut_note(left_out, SMALL_CAP))
        assert f"newest {left_out:,} are not in it" in caption

    async def test_json_stays_valid_when_cut(self, capped: RunningBot) -> None:
        """A cut JSON export is still one valid JSON document that says it was cut."""
        await say(capped, "/export json", 1)
        document = exported(capped, 0)
        data = json.loads(document.content)
        assert len(document.content) <= SMALL_CAP
        kept = len(data["turns"])
        assert [t["user"] for t in data["turns"]] == [f"question {n}" for n in range(kept)]
        assert data["turns_stored"] == TURNS
        assert data["truncated"]["turns_left_out"] == TURNS - kept > 0
        assert data["truncated"]["max_bytes"] == SMALL_CAP

    async def test_under_the_cap_nothing_is_cut(self, bot: RunningBot) -> None:
        """A history that fits is exported whole, with no cut note ("truncated": null)."""
        fill_turns(database(bot), f"tg:{PRIVATE}", 1_200, created_at=time.time())
        await say(bot, "/export json", 1)
        data = json.loads(exported(bot, 0).content)
        assert len(data["turns"]) == 1_200 and data["truncated"] is None
        assert "not in it" not in bot.telegram.messages(PRIVATE)[0].text


class TestGroupExport:
    async def test_member_is_refused(self, bot: RunningBot, logs: LogCapture) -> None:
        """In a group, a member who is not an admin cannot export its history."""
        await self._chat_in_group(bot)
        bot.telegram.send_group_text(GROUP, "/export", user_id=8)
        assert "Only this group's admins can export" in await answer_in(bot, GROUP, 2)
        assert bot.telegram.calls_of("sendDocument") == []
        [refused] = logs.named("update_refused")
        assert refused["reason"] == "chat_admins_only"

    async def test_admin_may_export(self, bot: RunningBot) -> None:
        """A group admin gets the group's history as a file."""
        await self._chat_in_group(bot)
        bot.telegram.send_group_text(GROUP, "/export json", user_id=7)
        await answer_in(bot, GROUP, 2)
        data = json.loads(group_document(bot, 1).content)
        assert [t["user"] for t in data["turns"]] == ["hi"]
        assert data["turns"][0]["speaker"] == "Bob"

    async def test_setting_off_lets_members_export(self, bot: RunningBot) -> None:
        """GROUP_EXPORT_ADMINS_ONLY=false lets every member export."""
        await bot.restart(GROUP_EXPORT_ADMINS_ONLY="false")
        await self._chat_in_group(bot)
        bot.telegram.send_group_text(GROUP, "/export", user_id=8)
        await answer_in(bot, GROUP, 2)
        assert group_document(bot, 1).filename.endswith(".md")

    async def _chat_in_group(self, bot: RunningBot) -> None:
        bot.telegram.set_chat_admins(GROUP, [7])
        bot.telegram.send_group_text(GROUP, "@test_llm_bot hi", user_id=7)
        await answer_in(bot, GROUP, 1)


class TestRetention:
    async def test_old_turns_go_and_new_ones_stay(self, bot: RunningBot, logs: LogCapture) -> None:
        """With HISTORY_RETENTION_DAYS, turns sent before the cutoff are deleted at start-up
        (and daily), with summaries not updated since; newer turns and usage rows stay."""
        now = utc(2026, 6, 1)
        bot.clock = FakeClock(now)
        path = database(bot)
        fill_turns(path, "tg:1", 1_200, created_at=now - 40 * DAY, text="old {n}")
        fill_turns(path, "tg:1", 3, created_at=now - 5 * DAY, text="new {n}")
        fill_turns(path, "tg:2", 2, created_at=now - 31 * DAY, text="other {n}")
        db_rows(
            bot,
            "INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at) VALUES"
            f" ('tg:1', 'old facts', 1, {now - 35 * DAY}), ('tg:2', 'new facts', 1, {now})",
        )
        usage_before = db_rows(bot, "SELECT COUNT(*) FROM usage")
        await bot.restart(HISTORY_RETENTION_DAYS="30")
        [done] = await logs.wait_for("history_retention_done")
        assert done["turns"] == 1_202 and done["days"] == 30
        left = db_rows(bot, "SELECT user_text FROM turns ORDER BY id")
        assert [text for (text,) in left] == ["new 0", "new 1", "new 2"]
        assert db_rows(bot, "SELECT COUNT(*) FROM usage") == usage_before
        assert db_rows(bot, "SELECT chat_id FROM chat_summaries") == [("tg:2",)]
        assert done["summaries"] == 1

    async def test_unset_keeps_everything(self, bot: RunningBot, logs: LogCapture) -> None:
        """Without HISTORY_RETENTION_DAYS nothing is ever deleted, however old."""
        fill_turns(database(bot), "tg:1", 3, created_at=utc(2000, 1, 1))
        await bot.restart()
        assert db_rows(bot, "SELECT COUNT(*) FROM turns") == [(3,)]
        assert logs.named("history_retention_done") == []
