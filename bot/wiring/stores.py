"""Opening the storage DATABASE_URL names (SQLite claimed for one process, or PostgreSQL)
and Redis for what several replicas share."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from bot.config import (
    Settings,
)
from bot.engine.policy.shared import SharedState
from bot.observability.logs import get_logger
from bot.storage import postgres, sqlite
from bot.storage.errors import StorageError, StoreInUse
from bot.storage.files import readable_by_others
from bot.storage.repositories import Stores
from bot.storage.sqlite import Database
from bot.wiring.errors import StartupError

log = get_logger(__name__)


def warn_if_readable(path: Path) -> None:
    """Log `env_file_readable` when other users may read `path` (.env holds the secrets)."""
    mode = readable_by_others(path)
    if mode is not None:
        log.warning("env_file_readable", path=str(path), mode=f"{mode:04o}")


async def shared_state(settings: Settings, stack: AsyncExitStack) -> SharedState | None:
    """Redis for the limits several replicas share (REDIS_URL); without it, on PostgreSQL
    (where replicas are possible), a warning that limits are per process."""
    url = settings.database.redis_url
    if url is None:
        if settings.service.on_postgres:
            log.warning("limits_per_process", replica_id=settings.database.replica_id)
        return None
    shared = SharedState(url, prefix=settings.database.redis_key_prefix)
    stack.push_async_callback(shared.close)
    return shared


async def open_stores(settings: Settings, stack: AsyncExitStack) -> Stores:
    """Open the database DATABASE_URL names; `stack` closes it last. SQLite: claim the file
    for this process first (raises StartupError when another process holds it); PostgreSQL:
    any number of processes may share it."""
    if settings.service.on_postgres:
        return await _open_postgres(settings, stack)
    path = settings.service.database_path
    claim = sqlite.ProcessLock(path)
    try:
        claim.acquire()
    except StoreInUse as exc:
        raise StartupError(
            f"Another bot process (pid {exc.holder}) is using the database {path}: stop it "
            "first, or give this one its own DATABASE_URL (two would answer the same messages)."
        ) from exc
    except OSError as exc:
        raise StartupError(f"Could not lock the database {path}: {exc.strerror}") from exc
    stack.callback(claim.release)  # after the database is closed
    database = Database(path)
    stack.push_async_callback(database.close)
    try:
        await database.open()
    except StorageError as exc:
        raise StartupError(f"Could not open the database {path}: {exc}") from exc
    return sqlite.stores(database)


async def _open_postgres(settings: Settings, stack: AsyncExitStack) -> Stores:
    """Connect a pool to PostgreSQL and bring its schema up to date."""
    database = postgres.PostgresDatabase(
        settings.service.database_url, max_size=settings.database.database_pool_size
    )
    stack.push_async_callback(database.close)
    try:
        await database.open()
    except StorageError as exc:
        shown = settings.service.database_shown
        raise StartupError(f"Could not open the database {shown}: {exc}") from exc
    log.info("database_opened", backend="postgresql", replica_id=settings.database.replica_id)
    return postgres.stores(database)
