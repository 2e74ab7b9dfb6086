"""SQLite storage of the conversation controls: chat settings, summaries, calibration."""

from __future__ import annotations

from bot.storage.records import Calibration, ChatSettings, NewTurn, Summary, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database


async def answered(store: Stores, chat: str, text: str) -> int:
    turn = await store.turns.add(NewTurn(chat, text), now=1.0)
    assert turn is not None
    await store.turns.save_answer(turn.id, f"re: {text}", Usage("m", 10, 5, 0.5), now=2.0)
    await store.turns.mark_answered(turn.id, now=3.0)
    return turn.id


class TestChatSettings:
    async def test_unknown_chat_has_no_choices(self, storage: Stores) -> None:
        """A chat never seen has no model, persona or prompt chosen."""
        assert await storage.chats.settings("c") == ChatSettings()

    async def test_persona_drops_custom_prompt_and_maybe_model(self, storage: Stores) -> None:
        """Choosing a persona drops the custom prompt, and the model unless asked to keep it."""
        await storage.chats.set_model("c", "m1")
        await storage.chats.set_system_prompt("c", "custom")
        await storage.chats.set_persona("c", "coder", keep_model=True)
        assert await storage.chats.settings("c") == ChatSettings("m1", "coder", None)
        await storage.chats.set_persona("c", "big", keep_model=False)
        assert await storage.chats.settings("c") == ChatSettings(None, "big", None)

    async def test_survive_clear_and_reopen(self, storage: Stores, database: Database) -> None:
        """Clearing a chat and reopening the file keep its persona and prompt."""
        await storage.chats.set_persona("c", "tutor", keep_model=True)
        await storage.chats.set_system_prompt("c", "be kind")
        await answered(storage, "c", "hi")
        assert await storage.turns.clear_chat("c") == 1
        await database.close()
        await database.open()
        assert await storage.chats.settings("c") == ChatSettings(None, "tutor", "be kind")

    async def test_answered_pages_oldest_first(self, storage: Stores) -> None:
        """Pages hold the chat's answered turns only, oldest first, each after the last id."""
        ids = [await answered(storage, "c", f"t{n}") for n in range(5)]
        await answered(storage, "other", "x")
        pending = await storage.turns.add(NewTurn("c", "pending"), now=4.0)
        assert pending is not None
        first = await storage.turns.answered_page("c", after=0, limit=2)
        rest = await storage.turns.answered_page("c", after=first[-1].id, limit=10)
        assert [t.id for t in first + rest] == ids
        assert await storage.turns.answered_page("c", after=ids[-1], limit=10) == []
        assert await storage.turns.count_answered("c") == 5

    async def test_retention_deletes_settled_turns_in_batches(self, storage: Stores) -> None:
        """Settled turns sent before the cutoff go, `limit` at a time; unfinished ones and
        usage rows stay."""
        for n in range(5):
            await answered(storage, "c", f"t{n}")
        pending = await storage.turns.add(NewTurn("c", "pending", sent_at=0.5), now=4.0)
        assert pending is not None
        assert await storage.turns.delete_settled_before(1.5, limit=3) == 3
        assert await storage.turns.delete_settled_before(1.5, limit=3) == 2
        assert await storage.turns.delete_settled_before(1.5, limit=3) == 0
        assert await storage.turns.get(pending.id) is not None
        assert (await storage.usage.totals(since=0)).requests == 5


class TestSummaries:
    async def test_save_read_and_replace(self, storage: Stores) -> None:
        """A summary is stored, then replaced by one that knows the previous end."""
        first, second = await answered(storage, "c", "a"), await answered(storage, "c", "b")
        assert await storage.summaries.save("c", Summary("s1", first), previous=None, now=1)
        assert await storage.summaries.get("c") == Summary("s1", first)
        assert not await storage.summaries.save("c", Summary("s2", second), previous=None, now=2)
        assert await storage.summaries.save("c", Summary("s2", second), previous=first, now=2)
        assert await storage.summaries.get("c") == Summary("s2", second)

    async def test_clear_removes_it_and_blocks_a_late_save(self, storage: Stores) -> None:
        """/clear deletes the summary; a summary finished after the clear is not saved."""
        first = await answered(storage, "c", "a")
        await storage.summaries.save("c", Summary("s1", first), previous=None, now=1)
        await storage.turns.clear_chat("c")
        assert await storage.summaries.get("c") is None
        assert not await storage.summaries.save("c", Summary("late", first), previous=None, now=2)
        assert await storage.summaries.get("c") is None


class TestUsageAndCalibration:
    async def test_summary_usage_counts_in_stats(self, storage: Stores) -> None:
        """Usage recorded without a turn adds to the chat's requests and tokens."""
        await storage.usage.record("c", Usage("m", 100, 20, None), now=1)
        stats = await storage.chats.stats("c")
        assert (stats.requests, stats.prompt_tokens, stats.completion_tokens) == (1, 100, 20)

    async def test_calibration_round_trip(self, storage: Stores) -> None:
        """Calibrations are stored per model and replaced by newer ones."""
        await storage.calibrations.save("a", Calibration(3.5, 1), now=1)
        await storage.calibrations.save("a", Calibration(3.2, 2), now=2)
        await storage.calibrations.save("b", Calibration(2.0, 1), now=2)
        assert await storage.calibrations.load() == {
            "a": Calibration(3.2, 2),
            "b": Calibration(2.0, 1),
        }
