"""End to end: two and three bot processes on one PostgreSQL database, all answering.

In webhook mode a round-robin balancer (what Caddy or a Kubernetes Service does) hands each
update to the next replica, which records it and answers 200; the replica holding the
conversation's lease answers it. In polling mode one replica polls and every replica answers.
Killed (SIGKILL) or restarted (SIGTERM) replicas lose nothing: each message is answered once,
in order per chat (asserted on the fake Telegram's messages)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress

import aiohttp
import pytest

from bot.storage.postgres.database import PostgresDatabase
from tests.fakes.openai import Block, FakeOpenAI
from tests.fakes.telegram import ApiCall, ApiError, FakeTelegram
from tests.support.botprocess import BotProcess, UnconfirmedUpdates
from tests.support.chats import PRIVATE
from tests.support.service import get, private_update, unused_port
from tests.support.services import (
    REDIS_URL,
    PostgresSchema,
    postgres_rows,
    postgres_schema,
    redis_prefix,
)
from tests.support.waiting import until

FAILOVER_S = 10.0  # the bound for another replica to take over polling
LEASE_S = 3  # LEASE_SECONDS in these tests (30 by default): a dead replica's chats wait this
CHATS = [PRIVATE + n for n in range(5)]
SECRET = "replicas-Webhook_secret-42"
HOOK = {"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": SECRET}


@pytest.fixture
async def schema() -> AsyncIterator[PostgresSchema]:
    async with postgres_schema() as made:
        yield made


@pytest.fixture
def env(bot_env: dict[str, str], schema: PostgresSchema) -> dict[str, str]:
    """The replicas' shared environment: one PostgreSQL schema, no health server."""
    return {
        **bot_env,
        "DATABASE_URL": schema.url,
        "RECOVERY_INTERVAL_SECONDS": "1",
        "LEASE_SECONDS": str(LEASE_S),
    }


@pytest.fixture
async def replicas(env: dict[str, str]) -> AsyncIterator[list[BotProcess]]:
    """The processes a test starts (appended as they start), killed at the end if alive."""
    started: list[BotProcess] = []
    yield started
    for process in started:
        await process.kill()


async def started(env: dict[str, str], name: str, **extra: str) -> BotProcess:
    """A replica, once it has started (it answers; in polling mode it may also poll)."""
    process = await BotProcess.spawn({**env, "REPLICA_ID": name, **extra})
    await process.wait_for("bot_started", timeout=30)
    return process


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    return [m.text for m in telegram.messages(chat)]


async def all_answered(telegram: FakeTelegram, sent: dict[int, list[str]]) -> None:
    """Every chat got exactly the answers to what it sent, in order (and nothing else)."""
    expected = {chat: [f"echo: {t}" for t in chat_texts] for chat, chat_texts in sent.items()}
    await until(
        lambda: all(len(texts(telegram, c)) >= len(e) for c, e in expected.items()),
        "not every message was answered",
        timeout=90,
    )
    await asyncio.sleep(1.5)  # a recovery sweep's interval: room for a wrong second answer
    assert {chat: texts(telegram, chat) for chat in expected} == expected


def has_messages(telegram: FakeTelegram, chat: int, count: int) -> Callable[[], bool]:
    """Whether the chat has received `count` messages (a condition for `until`)."""
    return lambda: len(texts(telegram, chat)) == count


def answered_by(processes: list[BotProcess]) -> dict[str, int]:
    """How many answers each replica delivered (its `reply_finished` lines)."""
    counts: dict[str, int] = {}
    for process in processes:
        for event in process.events("reply_finished"):
            counts[event["replica_id"]] = counts.get(event["replica_id"], 0) + 1
    return counts


class LoadBalancer:
    """Each post goes to the next replica in turn; one that refuses it (a replica going
    away, or not listening yet) is skipped, and the post tries the next until one takes it."""

    def __init__(self, ports: list[int], path: str = "/telegram") -> None:
        self.ports = ports
        self.path = path
        self.turn = 0
        self.taken_by: list[int] = []

    async def post(self, telegram: FakeTelegram, update: dict[str, object]) -> None:
        telegram.register_update(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                port = self.ports[self.turn % len(self.ports)]
                self.turn += 1
                url = f"http://127.0.0.1:{port}{self.path}"
                with suppress(aiohttp.ClientError):
                    async with session.post(url, json=update, headers=headers) as response:
                        if response.status == 200:
                            self.taken_by.append(port)
                            return
                await asyncio.sleep(0.05)
        raise AssertionError("no replica took the update")


async def webhook_replicas(
    env: dict[str, str], replicas: list[BotProcess], count: int
) -> LoadBalancer:
    ports = [unused_port() for _ in range(count)]
    for n, port in enumerate(ports):
        replicas.append(await started({**env, **HOOK, "WEBHOOK_PORT": str(port)}, f"r{n}"))
    return LoadBalancer(ports)


class TestWebhookReplicas:
    @pytest.mark.parametrize("count", [2, 3])
    async def test_twenty_chats_five_messages_answered_once_in_order_by_all(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        replicas: list[BotProcess],
        schema: PostgresSchema,
        count: int,
    ) -> None:
        """Every replica takes updates from the balancer in turn (so a chat's consecutive
        messages reach different replicas): 20 chats x 5 messages are each answered once, in
        order per chat, and the answers come from every replica; nothing is left recorded."""
        balancer = await webhook_replicas(env, replicas, count)
        chats = [PRIVATE + n for n in range(20)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(5):
            for chat in chats:
                sent[chat].append(f"m{step}")
                await balancer.post(telegram, private_update(chat, f"m{step}"))
        await all_answered(telegram, sent)
        print(f"MEASURED {count} webhook replicas: answers by replica {answered_by(replicas)}")
        assert len(set(balancer.taken_by)) == count  # every replica received updates
        by_replica = answered_by(replicas)
        assert sum(by_replica.values()) == 100
        assert sorted(by_replica) == [f"r{n}" for n in range(count)], by_replica
        await until_empty(schema)

    async def test_replica_killed_mid_answer_another_answers_once_after_the_lease(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """The replica answering a chat is SIGKILLed while the model writes: the other one
        takes the chat's lease over once it has expired (LEASE_SECONDS), finishes that turn
        (recovery), then answers the chat's next message: one answer each, in order."""
        balancer = await webhook_replicas(env, replicas, 2)
        model.script(Block(asyncio.Event()))  # the first request never gets an answer
        await balancer.post(telegram, private_update(PRIVATE, "question"))
        await model.wait_for_requests(1, timeout=30)
        [holder] = await postgres_rows(schema.url, "SELECT holder FROM chat_leases")
        dying = replicas[int(str(holder[0]).removeprefix("r"))]
        survivor = next(p for p in replicas if p is not dying)
        killed_at = time.monotonic()
        await dying.kill()
        await balancer.post(telegram, private_update(PRIVATE, "next"))
        await all_answered(telegram, {PRIVATE: ["question", "next"]})
        took = time.monotonic() - killed_at
        print(f"MEASURED webhook kill -> both answered: {took:.2f} s")
        assert took >= LEASE_S - 0.5  # not before the dead replica's lease expired
        [over] = survivor.events("lease_taken_over")
        assert over["previous"] == holder[0]
        states = await postgres_rows(schema.url, "SELECT state FROM turns ORDER BY id")
        assert states == [("answered",), ("answered",)]
        await until_empty(schema)

    async def test_replica_killed_mid_stream_loses_nothing(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """Two replicas, a slow model, 10 chats x 5 messages; one replica is SIGKILLed after
        three rounds with answers under way and updates waiting: the other finishes its
        turns and its waiting updates after their leases expire; each answered once, in order.

        The dying replica's final sendMessage calls are held while it is killed, so that no
        answer is accepted by Telegram in the instant before it could record it: that answer
        would be sent again (reliability.md, "What is not guaranteed")."""
        model.default_ttft = 0.15
        balancer = await webhook_replicas(env, replicas, 2)
        held = DeliveriesHeld(telegram)
        chats = [PRIVATE + n for n in range(10)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(5):
            if step == 3:
                await held.hold()
                await replicas[0].kill()
                held.release()
            for chat in chats:
                sent[chat].append(f"m{step}")
                await balancer.post(telegram, private_update(chat, f"m{step}"))
        await all_answered(telegram, sent)
        assert replicas[1].events("lease_taken_over")
        await until_empty(schema)


class TestRestartedReplica:
    async def test_a_replica_restarted_under_its_name_takes_its_chats_back_at_once(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """A lone replica is SIGKILLed mid-answer; started again with the same REPLICA_ID
        it finishes that answer at start, without waiting for its old lease (30 s) to
        expire: its leases are its own."""
        slow = {**env, "LEASE_SECONDS": "30"}
        replicas.append(await started(slow, "r1"))
        held = UnconfirmedUpdates(telegram)
        model.script(Block(asyncio.Event()))
        telegram.send_private_text(PRIVATE, "question")
        await model.wait_for_requests(1, timeout=30)
        await replicas[0].kill()
        held.release()
        restarted_at = time.monotonic()
        replicas.append(await started(slow, "r1"))
        await all_answered(telegram, {PRIVATE: ["question"]})
        assert time.monotonic() - restarted_at < 20  # not after the old lease's 30 s
        [over] = replicas[1].events("lease_taken_over")
        assert over["previous"] == "r1"
        await until_empty(schema)


async def rename_inbox(schema: PostgresSchema, old: str, new: str) -> None:
    """Take the inbox table away (or give it back): recording fails meanwhile, as when the
    database refuses writes. (A fresh replica has no prepared statement bound to it yet.)"""
    await postgres_rows(schema.url, f"ALTER TABLE {old} RENAME TO {new}")


class TestInboxFaults:
    async def test_webhook_post_not_recorded_is_a_500_and_answered_when_sent_again(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """While the database refuses the update, the webhook answers 500 (Telegram keeps
        it) and logs `inbox_record_failed`; sent again later, it is answered once."""
        port = unused_port()
        replicas.append(await started({**env, **HOOK, "WEBHOOK_PORT": str(port)}, "r1"))
        update = private_update(PRIVATE, "question")
        telegram.register_update(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        url = f"http://127.0.0.1:{port}/telegram"
        await rename_inbox(schema, "update_inbox", "inbox_away")
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 500
            await replicas[0].wait_for("inbox_record_failed")
            [failed] = replicas[0].events("inbox_record_failed")
            assert failed["update_id"] == update["update_id"]
            assert telegram.messages(PRIVATE) == []
            await rename_inbox(schema, "inbox_away", "update_inbox")
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 200
        await all_answered(telegram, {PRIVATE: ["question"]})

    async def test_poller_keeps_an_update_unconfirmed_until_it_is_recorded(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """While the database refuses the update, the poller tries again every second and
        does not ask for more (so Telegram keeps it); then it is recorded and answered."""
        replicas.append(await started(env, "r1"))
        await replicas[0].wait_for("replica_leading")
        await rename_inbox(schema, "update_inbox", "inbox_away")
        telegram.send_private_text(PRIVATE, "question")
        await replicas[0].wait_for("inbox_record_failed", count=2)
        assert [u["message"]["text"] for u in telegram.updates] == ["question"]
        assert telegram.messages(PRIVATE) == []
        await rename_inbox(schema, "inbox_away", "update_inbox")
        await all_answered(telegram, {PRIVATE: ["question"]})
        await until(lambda: telegram.updates == [], "the update was never confirmed")


class TestWebhookSecret:
    async def test_replicas_without_a_configured_secret_agree_on_one(
        self, env: dict[str, str], telegram: FakeTelegram, replicas: list[BotProcess]
    ) -> None:
        """No WEBHOOK_SECRET: each replica sets the webhook with the same secret (derived
        from the token, never the token itself), and each takes a post carrying it, so
        whichever set it last, all of them accept what Telegram sends."""
        ports = [unused_port(), unused_port()]
        url = {"WEBHOOK_URL": HOOK["WEBHOOK_URL"]}
        for n, port in enumerate(ports):
            replicas.append(await started({**env, **url, "WEBHOOK_PORT": str(port)}, f"r{n}"))
        secrets = {call.params["secret_token"] for call in telegram.calls_of("setWebhook")}
        assert len(secrets) == 1
        [secret] = secrets
        assert env["TELEGRAM_BOT_TOKEN"] not in secret and len(secret) >= 32
        assert [p.events("bot_started")[0]["secret"] for p in replicas] == ["derived"] * 2
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with aiohttp.ClientSession() as session:
            for port in ports:
                update = private_update(PRIVATE, f"via {port}")
                telegram.register_update(update)
                address = f"http://127.0.0.1:{port}/telegram"
                async with session.post(address, json=update, headers=headers) as response:
                    assert response.status == 200
        await until(lambda: len(texts(telegram, PRIVATE)) == 2, "not both answered")
        assert all(secret not in line for p in replicas for line in p.lines)


class TestSharedLimits:
    async def test_a_user_limited_on_one_replica_is_limited_on_the_next_told_once(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """REDIS_URL, two messages a minute: replica A answers two messages and refuses the
        third with one notice; A is stopped, and the user's fourth message reaches replica B:
        refused too, in silence (the window and the notice are shared through Redis)."""
        async with redis_prefix() as prefix:
            limited = {
                **env,
                **HOOK,
                "REDIS_URL": REDIS_URL,
                "REDIS_KEY_PREFIX": prefix,
                "RATE_LIMIT_MESSAGES": "2",
                "RATE_LIMIT_WINDOW_SECONDS": "60",
            }
            ports = [unused_port(), unused_port()]
            first = await started({**limited, "WEBHOOK_PORT": str(ports[0])}, "a")
            replicas.append(first)
            for count, text in enumerate(("one", "two", "three"), start=1):
                await LoadBalancer(ports[:1]).post(telegram, private_update(PRIVATE, text))
                await until(has_messages(telegram, PRIVATE, count), "no answer")
            assert await first.terminate() == 0
            second = await started({**limited, "WEBHOOK_PORT": str(ports[1])}, "b")
            replicas.append(second)
            await LoadBalancer(ports[1:]).post(telegram, private_update(PRIVATE, "four"))
            await until_empty(schema)  # "four" was handled (settled) by B
            await asyncio.sleep(1.0)  # room for a wrong answer or second notice
        [refused] = first.events("update_refused")
        assert (refused["reason"], refused["told"]) == ("rate_limited", True)
        got = texts(telegram, PRIVATE)
        assert got[:2] == ["echo: one", "echo: two"]
        assert len(got) == 3
        assert got[2].startswith("You're sending messages too fast.")
        assert len(model.requests) == 2


class TestUpgrade:
    async def test_updates_recorded_before_leases_are_answered_after_the_upgrade(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """A database of the release before leases (schema 1001) holds an update that was
        acknowledged but not handled: the new release migrates it (1002), fills its
        conversation's key in and answers it."""
        old = PostgresDatabase(schema.url)
        await old.open(target=1001)
        update = private_update(PRIVATE, "left over")
        telegram.register_update(update)
        await old.write(
            "INSERT INTO update_inbox (update_id, payload, received_at) VALUES ($1, $2, 1)",
            update["update_id"],
            json.dumps(update),
        )
        await old.close()
        replicas.append(await started(env, "r1"))
        await all_answered(telegram, {PRIVATE: ["left over"]})
        await until_empty(schema)


class TestPollingReplicas:
    async def test_one_polls_all_answer(
        self, env: dict[str, str], telegram: FakeTelegram, replicas: list[BotProcess]
    ) -> None:
        """Three replicas in polling mode: exactly one polls; 20 chats x 3 messages are each
        answered once, in order, and by every replica; /healthz is 200 on all three."""
        ports = [unused_port() for _ in range(3)]
        for n, port in enumerate(ports):
            replicas.append(await started(env, f"r{n}", HEALTH_PORT=str(port)))
        await until(
            lambda: sum(bool(p.events("replica_leading")) for p in replicas) == 1,
            "no replica polls",
            timeout=FAILOVER_S,
        )
        chats = [PRIVATE + n for n in range(20)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(3):
            for chat in chats:
                sent[chat].append(f"m{step}")
                telegram.send_private_text(chat, f"m{step}")
            await asyncio.sleep(0.3)
        await all_answered(telegram, sent)
        assert sum(bool(p.events("replica_leading")) for p in replicas) == 1
        print(f"MEASURED 3 polling replicas: answers by replica {answered_by(replicas)}")
        assert len(answered_by(replicas)) == 3, answered_by(replicas)  # all of them answer
        for port in ports:
            status, body = await get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200, body

    async def test_poller_killed_mid_answer_another_polls_and_answers_once(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """The poller, answering a message, is SIGKILLed while the model writes: the other
        replica (200 on /healthz all along: it answers) polls within 10 s and answers the
        message once, after the dead one's lease expired; its metrics say it polls."""
        port = unused_port()
        replicas.append(await started(env, "r1"))
        await replicas[0].wait_for("replica_leading")
        held = UnconfirmedUpdates(telegram)
        model.script(Block(asyncio.Event()))  # the request never gets an answer
        telegram.send_private_text(PRIVATE, "question")
        await model.wait_for_requests(1, timeout=30)
        replicas.append(await started(env, "r2", HEALTH_PORT=str(port)))
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        assert not replicas[1].events("replica_leading")
        killed_at = time.monotonic()
        await replicas[0].kill()
        held.release()
        polls_before = len(telegram.calls_of("getUpdates"))
        await replicas[1].wait_for("replica_leading", timeout=FAILOVER_S)
        await until(
            lambda: len(telegram.calls_of("getUpdates")) > polls_before,
            "the new poller does not poll",
            timeout=FAILOVER_S,
        )
        polled = time.monotonic() - killed_at
        assert polled < FAILOVER_S
        await all_answered(telegram, {PRIVATE: ["question"]})
        answered = time.monotonic() - killed_at - 1.5  # all_answered waits 1.5 s after
        print(f"MEASURED poller kill -> new poll {polled:.2f} s, -> answer {answered:.2f} s")
        assert await postgres_rows(schema.url, "SELECT state FROM turns") == [("answered",)]
        [over] = replicas[1].events("lease_taken_over")
        assert over["previous"] == "r1"
        assert all(e.get("replica_id") == "r2" for e in replicas[1].events("reply_finished"))
        metrics = (await get(f"http://127.0.0.1:{port}/metrics"))[1]
        assert 'bot_replica_leader{replica="r2"} 1.0' in metrics

    async def test_three_replicas_restarted_one_by_one_under_traffic_lose_nothing(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """Three replicas; messages to five chats keep coming while each replica in turn is
        stopped (SIGTERM) and started again: every message is answered once, in order."""
        for n in range(3):
            replicas.append(await started(env, f"r{n}"))
        sent: dict[int, list[str]] = {chat: [] for chat in CHATS}
        for step in range(3):
            for chat in CHATS:
                text = f"m{step}"
                sent[chat].append(text)
                telegram.send_private_text(chat, text)
            stopping = replicas.pop(0)
            assert await stopping.terminate() == 0
            assert stopping.events("leases_released")
            replicas.append(await started(env, f"r{step + 3}"))
        await all_answered(telegram, sent)
        await until_empty(schema)


class TestWebhookRollingRestart:
    async def test_each_replica_restarted_while_the_balancer_posts_loses_nothing(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """Three webhook replicas behind the balancer, a slow model: each replica in turn is
        stopped (SIGTERM) while posts keep coming, and started again on its port; the
        balancer skips the one that is away. Every message is answered once, in order."""
        model.default_ttft = 0.1
        balancer = await webhook_replicas(env, replicas, 3)
        chats = [PRIVATE + n for n in range(10)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(3):
            stopping = replicas[step]
            terminated = asyncio.ensure_future(stopping.terminate())
            for chat in chats:
                sent[chat].append(f"m{step}")
                await balancer.post(telegram, private_update(chat, f"m{step}"))
            assert await terminated == 0
            port = str(balancer.ports[step])
            hook = {**env, **HOOK, "WEBHOOK_PORT": port}
            replicas[step] = await started(hook, f"r{step}b")
        await all_answered(telegram, sent)
        await until_empty(schema)


async def until_empty(schema: PostgresSchema) -> None:
    """Every recorded update was settled and every lease given up."""

    async def count(table: str) -> int:
        [(rows,)] = await postgres_rows(schema.url, f"SELECT COUNT(*) FROM {table}")
        return int(rows)  # type: ignore[call-overload]

    deadline = time.monotonic() + 10
    while (await count("update_inbox"), await count("chat_leases")) != (0, 0):
        assert time.monotonic() < deadline, "updates or leases left behind"
        await asyncio.sleep(0.1)


class DeliveriesHeld:
    """Holds final answers (sendMessage) on demand; the held ones fail once released (their
    sender is dead by then), so Telegram never accepted them."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self._gate: asyncio.Event | None = None
        self.waiting = 0
        telegram.on_call("sendMessage", self._hook)

    async def _hook(self, _call: ApiCall) -> None:
        if self._gate is not None:
            self.waiting += 1
            await self._gate.wait()
            raise ApiError(502, "Bad Gateway")

    async def hold(self) -> None:
        """Hold from now on, and wait until an answer is held (a replica is mid-stream)."""
        self._gate = asyncio.Event()
        await until(lambda: self.waiting > 0, "no answer reached Telegram", timeout=20)

    def release(self) -> None:
        assert self._gate is not None
        gate, self._gate = self._gate, None
        gate.set()
