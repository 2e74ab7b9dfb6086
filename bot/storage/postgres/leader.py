"""The one replica that polls Telegram: a PostgreSQL session advisory lock held by the poller.

The lock belongs to one connection of its own (outside the pool). PostgreSQL releases it the
moment that session ends: at once when the poller's process dies in any way (SIGKILL
included: the kernel closes its socket), within about ten seconds when its host or network
goes silent (the TCP keepalives below), so another replica that asks every second takes over
within a few seconds. The poller checks its session every few seconds and stops polling as
soon as the session is lost: it may no longer hold the lock.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import TYPE_CHECKING

from bot.storage.errors import StorageError
from bot.storage.postgres.database import translated

if TYPE_CHECKING:
    import asyncpg

LEADER_LOCK = 0x746C622D6C656164  # pg_advisory_lock key shared by every replica ("tlb-lead")
# The server notices a silent client after idle + interval * count seconds (~11 s).
_KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}


class Leadership:
    """The poller's lock: `acquire` waits for it, `lost` returns when it may be gone."""

    def __init__(self, url: str, *, retry_seconds: float = 1.0, check_seconds: float = 2.0):
        self.url = url
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self._connection: asyncpg.Connection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if no other replica holds it; True when this process leads."""
        import asyncpg  # noqa: PLC0415 - the driver loads only when PostgreSQL is configured

        with translated():
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(
                    self.url, timeout=10, server_settings=_KEEPALIVES
                )
            return bool(
                await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
            )

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process leads (True), or until `stop` is set (False). A database
        that does not answer is asked again, as another replica's lock is."""
        while not stop.is_set():
            try:
                if await self.try_acquire():
                    return True
            except StorageError:
                await self._drop()
            with suppress(TimeoutError):  # (asyncio.timeout: cancellable, unlike 3.11's wait_for)
                async with asyncio.timeout(self.retry_seconds):
                    await stop.wait()
        return False

    async def lost(self) -> None:
        """Return when the lock's session fails a check (it may have been released)."""
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                assert self._connection is not None
                with translated():
                    await asyncio.wait_for(self._connection.fetchval("SELECT 1"), 5)
            except (StorageError, TimeoutError, AssertionError):
                return

    async def release(self) -> None:
        """Give the lock up (closing the session releases it)."""
        await self._drop()

    async def _drop(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.terminate()
