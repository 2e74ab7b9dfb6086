"""The PostgreSQL backend: one `PostgresDatabase` pool and a repository per aggregate on it.

Selected by DATABASE_URL=postgresql://...; the driver (asyncpg) is imported only then."""

from __future__ import annotations

from bot.storage.postgres.attachments import PostgresAttachments, PostgresChatMedia
from bot.storage.postgres.calibrations import PostgresCalibrations
from bot.storage.postgres.chats import PostgresChats
from bot.storage.postgres.conversations import PostgresConversations
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.inbox import PostgresInbox
from bot.storage.postgres.leases import PostgresLeases
from bot.storage.postgres.summaries import PostgresSummaries
from bot.storage.postgres.turns import PostgresTurns
from bot.storage.postgres.usage import PostgresUsage
from bot.storage.repositories import Stores

__all__ = ["PostgresDatabase", "stores"]


def stores(database: PostgresDatabase) -> Stores:
    """Every repository on `database` (open it first; closing it closes them all)."""
    return Stores(
        turns=PostgresTurns(database),
        chats=PostgresChats(database),
        usage=PostgresUsage(database),
        summaries=PostgresSummaries(database),
        calibrations=PostgresCalibrations(database),
        conversations=PostgresConversations(database),
        health=database,
        attachments=PostgresAttachments(database),
        chat_media=PostgresChatMedia(database),
        inbox=PostgresInbox(database),
        leases=PostgresLeases(database),
    )
