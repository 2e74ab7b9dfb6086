"""The dispatcher of several replicas on a real PostgreSQL schema: each conversation's updates
go to one replica, in order; a settled conversation's lease is given up; an expired lease is
taken over, with the dead holder's turns finished first; a replica stopping gives all up.

The replicas here are two Dispatchers in one process, each with its own queue standing for
its processor (the e2e tests in test_replicas_e2e.py run whole bot processes)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from itertools import count

import pytest
from telegram import Bot, Update

from bot.replicas import dead_here
from bot.storage import postgres
from bot.storage.postgres.database import PostgresDatabase
from bot.telegram.app.dispatch import Dispatcher
from tests.support.running import TOKEN
from tests.support.service import private_update
from tests.support.services import postgres_database, postgres_rows

_ids = count(1)


@pytest.fixture
async def database() -> AsyncIterator[PostgresDatabase]:
    async with postgres_database() as opened:
        yield opened


class Replica:
    """A dispatcher and the queue its processor would read."""

    def __init__(
        self,
        database: PostgresDatabase,
        name: str,
        lease_seconds: float = 30,
        linger_seconds: float = 0,
    ):
        stores = postgres.stores(database)
        assert stores.inbox is not None and stores.leases is not None
        self.queue: asyncio.Queue[Update] = asyncio.Queue()
        self.recovered: list[str] = []
        self.dispatcher = Dispatcher(
            stores.inbox,
            stores.leases,
            holder=name,
            lease_seconds=lease_seconds,
            queue=self.queue,
            bot=Bot(TOKEN),
            linger_seconds=linger_seconds,
        )
        self.dispatcher.dispatching = True  # pumped by hand here (no background tasks)
        self.dispatcher.recover = self._recover

    async def _recover(self, key: str) -> None:
        self.recovered.append(key)

    def taken(self) -> list[tuple[int, str]]:
        found = []
        while not self.queue.empty():
            update = self.queue.get_nowait()
            assert update.effective_chat is not None and update.effective_message is not None
            found.append((update.effective_chat.id, update.effective_message.text or ""))
        return found


async def record(database: PostgresDatabase, chat: int, text: str) -> Update:
    inbox = postgres.stores(database).inbox
    assert inbox is not None
    update_id = next(_ids)
    payload = private_update(chat, text)
    payload["message"]["message_id"] = update_id
    payload["update_id"] = update_id
    await inbox.record(payload["update_id"], json.dumps(payload), f"tg:{chat}", now=1.0)
    return Update.de_json(payload, Bot(TOKEN))


async def leases(database: PostgresDatabase) -> list[tuple[object, ...]]:
    return await postgres_rows(
        database.url, "SELECT chat_key, holder FROM chat_leases ORDER BY chat_key"
    )


async def settle_all(replica: Replica, updates: list[Update]) -> None:
    for update in updates:
        await replica.dispatcher.settled(update)
    await replica.dispatcher.releases_done()


class TestDispatch:
    async def test_each_conversation_goes_to_one_replica_in_order(
        self, database: PostgresDatabase
    ) -> None:
        """Two replicas pump at once: each chat's updates all reach one of them, in order,
        and that one holds the chat's lease."""
        a, b = Replica(database, "a"), Replica(database, "b")
        for text in ("1", "2", "3"):
            await record(database, 11, text)
            await record(database, 22, text)
        await asyncio.gather(a.dispatcher.pump(), b.dispatcher.pump())
        taken = {"a": a.taken(), "b": b.taken()}
        for chat in (11, 22):
            owners = [name for name, got in taken.items() if any(c == chat for c, _ in got)]
            assert len(owners) == 1, taken
            got = [text for c, text in taken[owners[0]] if c == chat]
            assert got == ["1", "2", "3"]
            assert (f"tg:{chat}", owners[0]) in await leases(database)

    async def test_new_updates_of_a_held_conversation_go_to_its_holder(
        self, database: PostgresDatabase
    ) -> None:
        a, b = Replica(database, "a"), Replica(database, "b")
        await record(database, 11, "1")
        await a.dispatcher.pump()
        await record(database, 11, "2")
        await b.dispatcher.pump()  # b may not take it: a holds the chat
        await a.dispatcher.pump()
        assert (a.taken(), b.taken()) == ([(11, "1"), (11, "2")], [])

    async def test_a_settled_conversation_is_let_go_and_the_next_update_goes_to_anyone(
        self, database: PostgresDatabase
    ) -> None:
        a, b = Replica(database, "a"), Replica(database, "b")
        first = await record(database, 11, "1")
        await a.dispatcher.pump()
        await settle_all(a, [first])
        assert await leases(database) == []
        assert a.dispatcher.held == frozenset()
        await record(database, 11, "2")
        await b.dispatcher.pump()
        assert b.taken() == [(11, "2")]
        assert await postgres_rows(database.url, "SELECT update_id FROM update_inbox") == [
            (first.update_id + 1,)
        ]

    async def test_an_idle_conversation_lingers_with_its_holder_before_it_is_let_go(
        self, database: PostgresDatabase
    ) -> None:
        """A message arriving just after the last answer still goes to the holder (which
        knows the chat's pacing); once idle for the linger, the lease is given up."""
        a = Replica(database, "a", linger_seconds=0.5)
        b = Replica(database, "b")
        first = await record(database, 11, "1")
        await a.dispatcher.pump()
        await a.dispatcher.settled(first)
        second = await record(database, 11, "2")
        await b.dispatcher.pump()
        await a.dispatcher.pump()
        assert (a.taken(), b.taken()) == ([(11, "1"), (11, "2")], [])
        await a.dispatcher.settled(second)
        await asyncio.sleep(0.2)
        assert await leases(database) == [("tg:11", "a")]  # lingering
        await a.dispatcher.releases_done()
        assert await leases(database) == []

    async def test_an_expired_lease_is_taken_over_and_the_dead_holders_turns_finished_first(
        self, database: PostgresDatabase
    ) -> None:
        """`a` takes a chat and dies (stops renewing): `b` cannot take it while the lease
        lives, then takes it over, asks for the chat's recovery, and gets what waits."""
        a = Replica(database, "a", lease_seconds=0.5)
        b = Replica(database, "b")
        await record(database, 11, "1")
        await a.dispatcher.pump()
        assert a.taken() == [(11, "1")]
        await b.dispatcher.pump()
        assert b.taken() == []
        await asyncio.sleep(0.6)
        await b.dispatcher.pump()
        assert b.recovered == ["tg:11"]
        assert b.taken() == [(11, "1")]  # unsettled: handled again, a duplicate if stored
        assert await leases(database) == [("tg:11", "b")]

    async def test_a_claimed_conversation_with_nothing_left_is_let_go(
        self, database: PostgresDatabase
    ) -> None:
        """A conversation claimed for recovery (`hold`) whose work ends with nothing waiting
        is given up, so another replica may take its next update at once."""
        a = Replica(database, "a")
        assert await a.dispatcher.hold("tg:33")
        assert await leases(database) == [("tg:33", "a")]
        a.dispatcher.let_go("tg:33")
        await settle_all(a, [])
        assert await leases(database) == []

    async def test_closing_gives_every_lease_up(self, database: PostgresDatabase) -> None:
        a = Replica(database, "a")
        await record(database, 11, "1")
        await record(database, 22, "1")
        await a.dispatcher.pump()
        assert len(await leases(database)) == 2
        await a.dispatcher.close()
        assert await leases(database) == []


def finished_pid() -> int:
    """The pid of a process that has run and ended (no process has it now, most likely)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


class TestDeadReplicas:
    def test_a_process_of_this_host_that_no_longer_runs_is_dead(self) -> None:
        """Named as the default REPLICA_ID names it (host-pid): dead when no such process
        runs; this process, a live one, another host's or a chosen name are not."""
        pid = finished_pid()
        host = socket.gethostname()
        gone = f"{host}-{pid}"
        names = [
            gone,
            f"{host}-{os.getpid()}",
            f"{host}-1",
            f"other-host-{pid}",
            "bot-1",
        ]
        assert dead_here(names) == [gone]

    async def test_their_leases_end_at_once_and_are_taken_over(
        self, database: PostgresDatabase
    ) -> None:
        """A chat leased by a dead process of this host (30 s left) is taken over on the
        next pump, its turns finished first."""
        pid = finished_pid()
        gone = f"{socket.gethostname()}-{pid}"
        stores = postgres.stores(database)
        assert stores.leases is not None
        await record(database, 11, "1")
        assert await stores.leases.claim("tg:11", gone, 30) == ""
        b = Replica(database, "b")
        b.dispatcher._dead = dead_here
        await b.dispatcher.pump()
        assert b.recovered == ["tg:11"]
        assert b.taken() == [(11, "1")]
