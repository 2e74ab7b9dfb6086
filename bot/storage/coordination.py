"""What several replicas on one database coordinate through (PostgreSQL only): the updates
recorded before they are acknowledged, and one replica at a time per conversation.

SQLite is one process per database (its lock), so it has neither; see docs/operations.md,
"Running several replicas".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class UpdateInbox(Protocol):
    """Updates received but not yet handled, kept durably (PostgreSQL, several replicas): the
    replica that received an update records it with its conversation's key; the replica that
    holds the conversation's lease (`ChatLeases`) handles it, then settles it."""

    async def record(self, update_id: int, payload: str, chat_key: str, *, now: float) -> None:
        """Keep the update (its JSON) until it is settled, and wake every replica's `listen`;
        a second record of it is a no-op."""
        ...

    async def settle(self, update_id: int) -> None:
        """The update was handled (or refused): forget it."""
        ...

    async def keyless(self, limit: int) -> list[tuple[int, str]]:
        """At most `limit` updates recorded without a conversation key (before migration
        1002), as (id, JSON), oldest first."""
        ...

    async def set_key(self, update_id: int, chat_key: str) -> None:
        """Give a keyless update its conversation's key."""
        ...

    async def free_chats(self, limit: int) -> list[str]:
        """At most `limit` conversations with updates waiting and no live lease, the one
        waiting longest first."""
        ...

    async def of_chats(
        self, chat_keys: Sequence[str], *, besides: Sequence[int], limit: int
    ) -> list[tuple[int, str, str]]:
        """The waiting updates of these conversations, but those in `besides`, as (id, key,
        JSON) in update_id order."""
        ...

    async def listen(self, wake: Callable[[str], None]) -> None:
        """Call `wake(chat_key)` whenever any replica records an update (`wake("")`: some may
        have been missed); runs until cancelled."""
        ...


class ChatLeases(Protocol):
    """One replica at a time per conversation: a lease with an expiry that its holder renews."""

    async def claim(self, chat_key: str, holder: str, seconds: float) -> str | None:
        """Take the conversation's lease for `seconds` if it is free, expired or `holder`'s
        own; None when another replica holds it. Else the holder it was taken from ("": none,
        `holder`: its own, perhaps a previous run's)."""
        ...

    async def renew(self, holder: str, keys: Sequence[str], seconds: float) -> list[str]:
        """Extend `holder`'s leases of these conversations by `seconds` from now; the keys
        still held (a lease expired and taken by another replica is not)."""
        ...

    async def release(self, chat_key: str, holder: str) -> bool:
        """Give the lease up (False: it was no longer `holder`'s)."""
        ...

    async def release_all(self, holder: str) -> int:
        """Give up every lease `holder` has; how many."""
        ...

    async def holders(self) -> list[str]:
        """Every replica that holds a lease (live or expired)."""
        ...

    async def expire(self, holders: Sequence[str]) -> int:
        """End these holders' leases now (they are known to be dead); how many."""
        ...
