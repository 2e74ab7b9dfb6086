"""The SQLite backend: one `Database` file and a repository per aggregate on it."""

from __future__ import annotations

from bot.storage.repositories import Stores
from bot.storage.sqlite.attachments import SQLiteAttachments, SQLiteChatMedia
from bot.storage.sqlite.calibrations import SQLiteCalibrations
from bot.storage.sqlite.chats import SQLiteChats
from bot.storage.sqlite.conversations import SQLiteConversations
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.lock import ProcessLock
from bot.storage.sqlite.summaries import SQLiteSummaries
from bot.storage.sqlite.turns import SQLiteTurns
from bot.storage.sqlite.usage import SQLiteUsage

__all__ = ["Database", "ProcessLock", "stores"]


def stores(database: Database) -> Stores:
    """Every repository on `database` (open it first; closing it closes them all)."""
    return Stores(
        turns=SQLiteTurns(database),
        chats=SQLiteChats(database),
        usage=SQLiteUsage(database),
        summaries=SQLiteSummaries(database),
        calibrations=SQLiteCalibrations(database),
        conversations=SQLiteConversations(database),
        health=database,
        attachments=SQLiteAttachments(database),
        chat_media=SQLiteChatMedia(database),
    )
