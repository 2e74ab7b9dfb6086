"""SQLite storage of the conversation controls: chat settings, summaries, calibration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.base import Calibration, ChatSettings, NewTurn, Summary, Usage
from bot.storage.sqlite import SQLiteStorage


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(tmp_path / "bot.db")
    await store.open()
    yield store
    await store.close()


async def answered(store: SQLiteStorage, chat: str, text: str) -> int:
    turn = await store.add_turn(NewTurn(chat, text), now=1.0)
    assert turn is not None
    await store.save_answer(turn.id, f"re: {text}", Usage("m", 10, 5, 0.5), now=2.0)
    await store.mark_answered(turn.id, now=3.0)
    return turn.id


class TestChatSettings:
    async def test_unknown_chat_has_no_choices(self, storage: SQLiteStorage) -> None:
        """A chat never seen has no model, persona or prompt chosen."""
        assert await storage.chat_settings("c") == ChatSettings()

    async def test_persona_drops_custom_prompt_and_maybe_model(
        self, storage: SQLiteStorage
    ) -> None:
        """Choosing a persona drops the custom prompt, and the model unless asked to keep it."""
        await storage.set_chat_model("c", "m1")
        await storage.set_chat_system_prompt("c", "custom")
        await storage.set_chat_persona("c", "coder", keep_model=True)
        assert await storage.chat_settings("c") == ChatSettings("m1", "coder", None)
        await storage.set_chat_persona("c", "big", keep_model=False)
        assert await storage.chat_settings("c") == ChatSettings(None, "big", None)

    async def test_survive_clear_and_reopen(self, storage: SQLiteStorage) -> None:
        """Clearing a chat and reopening the file keep its persona and prompt."""
        await storage.set_chat_persona("c", "tutor", keep_model=True)
        await storage.set_chat_system_prompt("c", "be kind")
        await answered(storage, "c", "hi")
        assert await storage.clear_chat("c") == 1
        await storage.close()
        await storage.open()
        assert await storage.chat_settings("c") == ChatSettings(None, "tutor", "be kind")

    async def test_answered_turns_oldest_first(self, storage: SQLiteStorage) -> None:
        """answered_turns returns every answered turn of the chat only, oldest first."""
        ids = [await answered(storage, "c", f"t{n}") for n in range(3)]
        await answered(storage, "other", "x")
        pending = await storage.add_turn(NewTurn("c", "pending"), now=4.0)
        assert pending is not None
        assert [t.id for t in await storage.answered_turns("c")] == ids


class TestSummaries:
    async def test_save_read_and_replace(self, storage: SQLiteStorage) -> None:
        """A summary is stored, then replaced by one that knows the previous end."""
        first, second = await answered(storage, "c", "a"), await answered(storage, "c", "b")
        assert await storage.save_summary("c", Summary("s1", first), previous=None, now=1)
        assert await storage.chat_summary("c") == Summary("s1", first)
        assert not await storage.save_summary("c", Summary("s2", second), previous=None, now=2)
        assert await storage.save_summary("c", Summary("s2", second), previous=first, now=2)
        assert await storage.chat_summary("c") == Summary("s2", second)

    async def test_clear_removes_it_and_blocks_a_late_save(self, storage: SQLiteStorage) -> None:
        """/clear deletes the summary; a summary finished after the clear is not saved."""
        first = await answered(storage, "c", "a")
        await storage.save_summary("c", Summary("s1", first), previous=None, now=1)
        await storage.clear_chat("c")
        assert await storage.chat_summary("c") is None
        assert not await storage.save_summary("c", Summary("late", first), previous=None, now=2)
        assert await storage.chat_summary("c") is None


class TestUsageAndCalibration:
    async def test_summary_usage_counts_in_stats(self, storage: SQLiteStorage) -> None:
        """Usage recorded without a turn adds to the chat's requests and tokens."""
        await storage.record_usage("c", Usage("m", 100, 20, None), now=1)
        stats = await storage.chat_stats("c")
        assert (stats.requests, stats.prompt_tokens, stats.completion_tokens) == (1, 100, 20)

    async def test_calibration_round_trip(self, storage: SQLiteStorage) -> None:
        """Calibrations are stored per model and replaced by newer ones."""
        await storage.save_token_calibration("a", Calibration(3.5, 1), now=1)
        await storage.save_token_calibration("a", Calibration(3.2, 2), now=2)
        await storage.save_token_calibration("b", Calibration(2.0, 1), now=2)
        assert await storage.token_calibrations() == {
            "a": Calibration(3.2, 2),
            "b": Calibration(2.0, 1),
        }
