"""Updates recorded before they are acknowledged (PostgreSQL, several replicas).

Whichever replica receives an update — the webhook behind a load balancer, or the one replica
that polls — records it in the database's inbox with the key of its conversation, and only
then answers Telegram 200 (or confirms it with the next getUpdates): a failure to record is a
500, and Telegram sends the update again. Recording wakes every replica; the one that holds,
or takes, the conversation's lease handles it (dispatch.py) and settles (deletes) it once it
has been dealt with: answered, refused, dropped or failed. An update that was stored as a turn
already is recognised as a duplicate, so an update handled twice is answered once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from telegram import Bot, Update

from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.telegram.handlers.incoming import conversation_key

log = get_logger(__name__)

RETRY_SECONDS = 1.0  # the poller's wait before recording an update again


class Inbox(Protocol):
    """What the channel uses of storage's UpdateInbox (see bot/storage/repositories.py)."""

    async def record(self, update_id: int, payload: str, chat_key: str, *, now: float) -> None: ...

    async def settle(self, update_id: int) -> None: ...

    async def keyless(self, limit: int) -> list[tuple[int, str]]: ...

    async def set_key(self, update_id: int, chat_key: str) -> None: ...

    async def free_chats(self, limit: int) -> list[str]: ...

    async def of_chats(
        self, chat_keys: Sequence[str], *, besides: Sequence[int], limit: int
    ) -> list[tuple[int, str, str]]: ...

    async def listen(self, wake: Callable[[str], None]) -> None: ...


class Leases(Protocol):
    """What the channel uses of storage's ChatLeases."""

    async def claim(self, chat_key: str, holder: str, seconds: float) -> str | None: ...

    async def renew(self, holder: str, keys: Sequence[str], seconds: float) -> list[str]: ...

    async def release(self, chat_key: str, holder: str) -> bool: ...

    async def release_all(self, holder: str) -> int: ...

    async def holders(self) -> list[str]: ...

    async def expire(self, holders: Sequence[str]) -> int: ...


Dead = Callable[[list[str]], list[str]]
"""Which of these lease holders are known to be dead (bot/replicas.py `dead_here`)."""


async def fill_keys(inbox: Inbox, bot: Bot, limit: int) -> None:
    """Updates recorded before conversation keys were (migration 1002) get theirs."""
    for update_id, payload in await inbox.keyless(limit):
        update = Update.de_json(json.loads(payload), bot)
        await inbox.set_key(update_id, chat_key(update))


async def expire_dead(leases: Leases, dead: Dead) -> None:
    """Leases of replicas known to be dead (a process of this host that no longer runs: the
    bot restarted after a crash) end now rather than after LEASE_SECONDS."""
    holders = dead(await leases.holders())
    if holders:
        expired = await leases.expire(holders)
        log.info("leases_of_dead_replicas_expired", holders=holders, leases=expired)


def chat_key(update: Update) -> str:
    """The conversation an update belongs to (its chat, or its topic), as the per-chat
    processor orders them; an update without a chat is a conversation of its own."""
    chat = update.effective_chat
    if chat is None:
        return f"update:{update.update_id}"
    return conversation_key(chat, update.effective_message)


class RecordingSink:
    """Where the webhook server and the poller put updates: recorded in the inbox, which wakes
    every replica's dispatcher through the database.

    Webhook: `recorded` also wakes this replica's dispatcher at once, so the replica the load
    balancer picked usually takes the conversation (the balancer spreads the work). When the
    database does not take the update, the post fails (a 500: Telegram sends it again later).

    Polling (`polling`): the poller records for every replica, so it does not wake itself
    first (it would take nearly every conversation); and when the database does not take an
    update it tries again every RETRY_SECONDS without asking for more, so Telegram keeps what
    it has not been told was taken.
    """

    def __init__(self, inbox: Inbox, recorded: Callable[[str], None]) -> None:
        self._inbox, self._recorded = inbox, recorded
        self.polling = False

    async def put(self, update: object) -> None:
        if not isinstance(update, Update):
            return
        key = chat_key(update)
        while True:
            try:
                await self._inbox.record(update.update_id, update.to_json(), key, now=time.time())
            except StorageError as exc:
                log.warning("inbox_record_failed", update_id=update.update_id, error=str(exc))
                if not self.polling:
                    raise
                await asyncio.sleep(RETRY_SECONDS)
            else:
                break
        if not self.polling:
            self._recorded(key)
