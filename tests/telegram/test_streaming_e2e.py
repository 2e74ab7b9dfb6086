"""End to end: answers streamed to Telegram while the model writes them (fake servers)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.telegram.format.render import convert_markdown
from bot.telegram.reply import typing as typing_indicator
from tests.fakes._oai_payloads import split_text
from tests.fakes._tg_messages import NOT_MODIFIED
from tests.fakes.openai import Reply
from tests.support.chats import GROUP, PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot

OTHER = 1002
LONG = (
    "Streaming makes a long answer feel instant: the first words show up at once, "
    "and the rest follows while the model is still writing, sentence after sentence, "
    "until the whole answer is there and the draft becomes a real message."
)


def slow(text: str, chunks: int = 20, delay: float = 0.05) -> Reply:
    """A reply streamed in `chunks` pieces, `delay` seconds apart."""
    return Reply(text, chunks=chunks, chunk_delay=delay)


def typing_calls(bot: RunningBot) -> int:
    return len(bot.telegram.calls_of("sendChatAction", PRIVATE))


async def finished(logs: LogCapture, count: int = 1) -> list[dict[str, Any]]:
    """The stream_finished events, once `count` replies were delivered and recorded."""
    await logs.wait_for("reply_finished", count, timeout=30)
    return logs.named("stream_finished")


class TestPrivateDrafts:
    async def test_first_draft_follows_first_token(self, bot: RunningBot, logs: LogCapture) -> None:
        """The first chunk is shown as a draft while the model still holds back the rest."""
        bot.telegram.flood_limit(1.0)
        hold = asyncio.Event()
        bot.model.script(Reply(LONG, chunks=10, hold=hold, hold_after=1))
        bot.telegram.send_private_text(PRIVATE, "tell me")
        first = await bot.telegram.wait_for_call("sendMessageDraft", timeout=15)
        assert first.params["text"] == split_text(LONG, 10, 3)[0].strip()
        assert bot.model.requests[0].first_token_at is not None
        assert bot.telegram.messages(PRIVATE) == []
        hold.set()
        assert await answer_in(bot, PRIVATE, timeout=20) == LONG
        [event] = await finished(logs)
        assert event["mode"] == "draft" and event["first_visible_ms"] is not None
        assert bot.telegram.flood_errors == []

    async def test_streamed_answer_is_complete_without_429(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Under a one-update-a-second limit: several drafts, no 429, final message exact."""
        bot.telegram.flood_limit(1.0)
        bot.model.script(slow(LONG, chunks=40, delay=0.05))
        bot.telegram.send_private_text(PRIVATE, "tell me")
        assert await answer_in(bot, PRIVATE, timeout=20) == LONG
        await finished(logs)
        drafts = bot.telegram.drafts(PRIVATE)
        assert len(drafts) >= 2
        assert all(LONG.startswith(draft) for draft in drafts)
        assert bot.telegram.flood_errors == []
        assert len(bot.telegram.messages(PRIVATE)) == 1

    async def test_draft_ids_unique_per_reply(self, bot: RunningBot, logs: LogCapture) -> None:
        """Each reply streams under its own non-zero draft id."""
        bot.model.script(slow(LONG, 20, 0.1), slow(LONG, 20, 0.1))
        bot.telegram.send_private_text(PRIVATE, "one")
        await finished(logs, 1)
        first = {d.draft_id for d in bot.telegram.draft_records(PRIVATE)}
        bot.telegram.send_private_text(PRIVATE, "two")
        await finished(logs, 2)
        second = {d.draft_id for d in bot.telegram.draft_records(PRIVATE)} - first
        assert len(first) == 1 and len(second) == 1
        assert 0 not in first | second

    @pytest.mark.parametrize("refusal", ["old_server", "bad_request"])
    async def test_refused_drafts_fall_back_to_edits(
        self, bot: RunningBot, logs: LogCapture, refusal: str
    ) -> None:
        """A refused draft: this reply goes on with a message and edits; the chat is remembered."""
        if refusal == "old_server":
            bot.telegram.set_drafts_supported(False)
        else:
            bot.telegram.fail_next("sendMessageDraft", 400, "Bad Request: TEXTDRAFT_PEER_INVALID")
        bot.model.script(slow(LONG, 10), slow("and a second answer", 4))
        bot.telegram.send_private_text(PRIVATE, "one")
        await finished(logs, 1)
        [message] = bot.telegram.messages(PRIVATE)
        assert message.text == LONG
        bot.telegram.send_private_text(PRIVATE, "two")
        await finished(logs, 2)
        assert bot.telegram.messages(PRIVATE)[1].text == "and a second answer"
        assert len(bot.telegram.calls_of("sendMessageDraft")) == 1
        assert len(logs.named("drafts_refused")) == 1
        assert [e["mode"] for e in logs.named("stream_finished")] == ["edit", "edit"]

    async def test_typing_until_first_text(
        self, bot: RunningBot, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """ "Typing…" is refreshed while the model thinks and stops once text is visible."""
        monkeypatch.setattr(typing_indicator, "REFRESH_SECONDS", 0.1)
        hold = asyncio.Event()
        bot.model.script(Reply(LONG, chunks=5, ttft=0.5, hold=hold, hold_after=1))
        bot.telegram.send_private_text(PRIVATE, "think first")
        await bot.telegram.wait_for_call("sendMessageDraft", timeout=15)
        before = typing_calls(bot)
        await asyncio.sleep(0.5)  # one already on its way may still land
        settled = typing_calls(bot)
        await asyncio.sleep(0.5)  # five refresh periods with text on screen
        assert typing_calls(bot) == settled
        assert before >= 2
        hold.set()
        await answer_in(bot, PRIVATE, timeout=20)


class TestGroupEdits:
    async def test_edited_under_the_limit(self, bot: RunningBot, logs: LogCapture) -> None:
        """A group answer is one message, edited as it grows: no 429, final text complete."""
        bot.telegram.flood_limit(1.0)
        answer = "**Short version:** " + LONG
        bot.model.script(slow(answer, chunks=40, delay=0.05))
        bot.telegram.send_group_text(GROUP, "@test_llm_bot explain", user_id=7, first_name="Al")
        [event] = await finished(logs)
        [message] = bot.telegram.messages(GROUP)
        assert message.text == convert_markdown(answer).text
        assert {e["type"] for e in message.entities} == {"bold"}
        assert message.reply_to_message_id is not None
        assert message.edits and message.edits[-1] == message.text
        assert event["mode"] == "edit" and event["edits"] >= 1
        assert bot.telegram.flood_errors == []
        assert bot.telegram.calls_of("sendMessageDraft") == []

    async def test_final_edit_waits_out_flood_control(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """A 429 on the final edit is waited out: the full answer arrives, once."""
        hold = asyncio.Event()
        bot.model.script(Reply(LONG, chunks=3, hold=hold, hold_after=1))
        bot.telegram.send_group_text(GROUP, "@test_llm_bot go", user_id=7, first_name="Al")
        await bot.telegram.wait_for_call("sendMessage", timeout=15)
        bot.telegram.fail_next("editMessageText", 429, retry_after=1, times=2, chat_id=GROUP)
        hold.set()
        await finished(logs)
        [message] = bot.telegram.messages(GROUP)
        assert message.text == LONG
        assert len(bot.telegram.calls_of("editMessageText")) >= 3

    async def test_not_modified_is_not_an_error(self, bot: RunningBot, logs: LogCapture) -> None:
        """ "Message is not modified" from Telegram is taken as done; the user sees no error."""
        hold = asyncio.Event()
        bot.model.script(Reply(LONG, chunks=3, hold=hold, hold_after=1))
        bot.telegram.send_group_text(GROUP, "@test_llm_bot go", user_id=7, first_name="Al")
        await bot.telegram.wait_for_call("sendMessage", timeout=15)
        bot.telegram.fail_next("editMessageText", 400, NOT_MODIFIED, chat_id=GROUP)
        hold.set()
        [done] = await logs.wait_for("reply_finished", timeout=30)
        assert done["outcome"] == "answered"
        assert len(bot.telegram.messages(GROUP)) == 1
        assert logs.named("handler_error") == []

    async def test_deleted_message_gets_the_answer_anew(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """If the streamed message is deleted meanwhile, the final answer is sent as a new one."""
        hold = asyncio.Event()
        bot.model.script(Reply(LONG, chunks=3, hold=hold, hold_after=1))
        bot.telegram.send_group_text(GROUP, "@test_llm_bot go", user_id=7, first_name="Al")
        await bot.telegram.wait_for_call("sendMessage", timeout=15)
        [streamed] = bot.telegram.messages(GROUP)
        bot.telegram.known_messages.pop((GROUP, streamed.message_id))
        streamed.deleted = True  # as if an admin deleted it
        hold.set()
        [done] = await logs.wait_for("reply_finished", timeout=30)
        assert done["outcome"] == "answered"
        assert [m.text for m in bot.telegram.messages(GROUP)] == [LONG]
        assert logs.named("final_edit_failed")


class TestFloodControl:
    async def test_429_pauses_only_that_chat(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 429 mid-stream pauses that chat's updates; another chat streams on; both complete."""
        bot.model.default_chunks, bot.model.default_chunk_delay = 40, 0.1
        bot.model.reply_with(lambda messages: f"{messages[-1]['content']}: {LONG}")
        bot.telegram.send_private_text(PRIVATE, "first chat")
        bot.telegram.send_private_text(OTHER, "second chat")
        await bot.telegram.wait_for_call(
            "sendMessageDraft", lambda c: str(c.chat_id) == str(PRIVATE), timeout=15
        )
        bot.telegram.fail_next("sendMessageDraft", 429, retry_after=2, chat_id=PRIVATE)
        await finished(logs, 2)
        assert bot.telegram.messages(PRIVATE)[0].text == f"first chat: {LONG}"
        assert bot.telegram.messages(OTHER)[0].text == f"second chat: {LONG}"
        [paused] = logs.named("stream_paused")
        assert paused["chat_id"] == PRIVATE and paused["retry_after_s"] == 2
        flooded = bot.telegram.calls_of("sendMessageDraft", PRIVATE)[1]
        window = (flooded.at, flooded.at + 2)

        def within(chat_id: int) -> list[str]:
            return [
                c.method
                for c in bot.telegram.calls
                if str(c.chat_id) == str(chat_id)
                and c.method != "sendChatAction"
                and window[0] < c.at < window[1]
            ]

        assert within(PRIVATE) == []
        assert "sendMessageDraft" in within(OTHER)
        by_chat = {e["chat_id"]: e for e in logs.named("stream_finished")}
        assert by_chat[PRIVATE]["flood_pauses"] == 1 and by_chat[OTHER]["flood_pauses"] == 0


class TestStreamingOff:
    async def test_whole_answer_at_once(self, bot: RunningBot, logs: LogCapture) -> None:
        """STREAMING=false: "typing…", then the whole answer in one message; no drafts, no edits."""
        await bot.restart(STREAMING="false")
        bot.model.script(slow(LONG, 10), slow(LONG, 10))
        bot.telegram.send_private_text(PRIVATE, "one")
        assert await answer_in(bot, PRIVATE, timeout=20) == LONG
        bot.telegram.send_group_text(GROUP, "@test_llm_bot two", user_id=7, first_name="Al")
        assert await answer_in(bot, GROUP, timeout=20) == LONG
        assert bot.telegram.calls_of("sendMessageDraft") == []
        assert bot.telegram.calls_of("editMessageText") == []
        assert bot.telegram.calls_of("sendChatAction", PRIVATE)
        assert logs.named("stream_finished") == []
