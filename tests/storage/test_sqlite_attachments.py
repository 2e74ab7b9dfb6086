"""A turn's attachments and the /voice choice (migration 0007); upgrading a 0006 file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import sqlite
from bot.storage.records import Attachment, AttachmentKind, NewTurn, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations

ATTACHMENTS_VERSION = 7
PHOTO = Attachment(AttachmentKind.IMAGE, "photo-1", mime_type="image/jpeg", size=10)
VOICE = Attachment(AttachmentKind.VOICE, "voice-1", mime_type="audio/ogg", size=5, duration=3)


async def _turn(storage: Stores, text: str = "q") -> int:
    turn = await storage.turns.add(NewTurn(chat_id="tg:1", user_text=text), now=1.0)
    assert turn is not None
    return turn.id


class TestAttachments:
    async def test_stored_in_order_with_their_turn(self, storage: Stores) -> None:
        """Attachments added one by one (an album) come back in order, by turn."""
        turn = await _turn(storage)
        await storage.attachments.add(turn, [PHOTO])
        await storage.attachments.add(turn, [VOICE])
        found = await storage.attachments.of_turns([turn, 999])
        assert [a.file_id for a in found[turn]] == ["photo-1", "voice-1"]
        assert found[turn][1].duration == 3 and found[turn][0].id is not None
        assert 999 not in found

    async def test_derived_text_and_bytes_are_kept(self, storage: Stores) -> None:
        """A transcript, a note and an image's bytes are stored with the attachment, and the
        turn's question with them."""
        turn = await _turn(storage)
        await storage.attachments.add(turn, [PHOTO])
        (stored,) = (await storage.attachments.of_turns([turn]))[turn]
        assert stored.id is not None
        await storage.attachments.derive(
            stored.id, text="a cat", note="cut", data=b"\xff\xd8", question="q\n\na cat"
        )
        (after,) = (await storage.attachments.of_turns([turn]))[turn]
        assert (after.text, after.note, after.data) == ("a cat", "cut", b"\xff\xd8")
        stored_turn = await storage.turns.get(turn)
        assert stored_turn is not None and stored_turn.user_text == "q\n\na cat"

    async def test_copied_to_a_retry_and_gone_with_their_turn(self, storage: Stores) -> None:
        """/retry's turn gets the same attachments; clearing the chat deletes them."""
        first, second = await _turn(storage), await _turn(storage, "again")
        await storage.attachments.add(first, [PHOTO, VOICE])
        await storage.attachments.copy(first, second)
        assert len((await storage.attachments.of_turns([second]))[second]) == 2
        await storage.turns.mark_failed(first, "x", now=2.0)
        await storage.turns.clear_chat("tg:1")
        assert first not in await storage.attachments.of_turns([first])

    async def test_read_with_the_newest_turns(self, storage: Stores) -> None:
        """The newest answered turns come with their files and those of the turns asked for
        too (the message being answered), as `recent` and `of_turns` give them apart."""
        older, newer = await _turn(storage, "older"), await _turn(storage, "newer")
        asked = await _turn(storage, "asked")
        await storage.attachments.add(older, [VOICE])
        await storage.attachments.add(newer, [PHOTO])
        await storage.attachments.add(asked, [PHOTO, VOICE])
        for turn in (older, newer):
            await storage.turns.save_answer(turn, "a", Usage("m", 1, 1, None), now=2.0)
            await storage.turns.mark_answered(turn, now=3.0)
        turns, found = await storage.turns.recent_with_attachments("tg:1", 1, also=[asked])
        assert turns == await storage.turns.recent("tg:1", 1)
        assert [t.id for t in turns] == [newer]
        assert found == await storage.attachments.of_turns([newer, asked])
        assert [a.file_id for a in found[asked]] == ["photo-1", "voice-1"]
        assert older not in found

    async def test_voice_replies_per_chat(self, storage: Stores) -> None:
        """/voice is off by default and remembered per chat."""
        assert not await storage.chat_media.voice_replies("tg:1")
        await storage.chat_media.set_voice_replies("tg:1", True)
        assert await storage.chat_media.voice_replies("tg:1")
        assert not await storage.chat_media.voice_replies("tg:2")
        await storage.chat_media.set_voice_replies("tg:1", False)
        assert not await storage.chat_media.voice_replies("tg:1")


class TestUpgrade:
    async def test_file_of_0006_keeps_its_turns(self, tmp_path: Path) -> None:
        """A database at version 6 is upgraded in place: its turns stay and can take files."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as db:
            for version, script in migrations():
                if version < ATTACHMENTS_VERSION:
                    db.executescript(script)
                    db.execute(f"PRAGMA user_version = {version}")
            db.execute(
                "INSERT INTO turns (chat_id, user_text, answer, state, created_at, updated_at)"
                " VALUES ('tg:1', 'q1', 'a1', 'answered', 1, 1)"
            )
        database = Database(path)
        await database.open()
        try:
            store = sqlite.stores(database)
            assert await database.schema_version() == migrations()[-1][0] >= ATTACHMENTS_VERSION
            (turn,) = await store.turns.recent("tg:1", 10)
            assert turn.answer == "a1"
            assert await store.attachments.of_turns([turn.id]) == {}
            await store.attachments.add(turn.id, [PHOTO])
            assert len((await store.attachments.of_turns([turn.id]))[turn.id]) == 1
        finally:
            await database.close()
