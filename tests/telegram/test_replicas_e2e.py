"""End to end: two and three bot processes on one PostgreSQL database. One leads (polls and
answers), the others stand by; killed or restarted, the leader is replaced within seconds
and every message is answered once, in order per chat."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import suppress

import aiohttp
import pytest

from tests.fakes.openai import Block, FakeOpenAI
from tests.fakes.telegram import ApiCall, ApiError, FakeTelegram
from tests.support.botprocess import BotProcess, UnconfirmedUpdates
from tests.support.chats import PRIVATE
from tests.support.service import get, private_update, unused_port
from tests.support.services import PostgresSchema, postgres_rows, postgres_schema
from tests.support.waiting import until

FAILOVER_S = 10.0  # the bound for another replica to take over polling
CHATS = [PRIVATE + n for n in range(5)]


@pytest.fixture
async def schema() -> AsyncIterator[PostgresSchema]:
    async with postgres_schema() as made:
        yield made


@pytest.fixture
def env(bot_env: dict[str, str], schema: PostgresSchema) -> dict[str, str]:
    """The replicas' shared environment: one PostgreSQL schema, no health server."""
    return {**bot_env, "DATABASE_URL": schema.url, "RECOVERY_INTERVAL_SECONDS": "1"}


@pytest.fixture
async def replicas(env: dict[str, str]) -> AsyncIterator[list[BotProcess]]:
    """The processes a test starts (appended as they start), killed at the end if alive."""
    started: list[BotProcess] = []
    yield started
    for process in started:
        await process.kill()


async def leader(env: dict[str, str], telegram: FakeTelegram, name: str) -> BotProcess:
    """A replica started when no other leads: it polls Telegram."""
    process = await BotProcess.start({**env, "REPLICA_ID": name}, telegram)
    await process.wait_for("replica_leading")
    return process


async def standby(env: dict[str, str], name: str, **extra: str) -> BotProcess:
    """A replica started while another leads (or is taking over): it waits, or, if it won
    the race to take over, leads."""
    process = await BotProcess.spawn({**env, "REPLICA_ID": name, **extra})
    await until(
        lambda: bool(process.events("replica_standby") or process.events("replica_leading")),
        f"{name} neither stands by nor leads",
        timeout=30,
    )
    return process


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    return [m.text for m in telegram.messages(chat)]


async def all_answered(telegram: FakeTelegram, sent: dict[int, list[str]]) -> None:
    """Every chat got exactly the answers to what it sent, in order (and nothing else)."""
    expected = {chat: [f"echo: {t}" for t in chat_texts] for chat, chat_texts in sent.items()}
    await until(
        lambda: all(len(texts(telegram, c)) >= len(e) for c, e in expected.items()),
        "not every message was answered",
        timeout=60,
    )
    await asyncio.sleep(1.5)  # a recovery sweep's interval: room for a wrong second answer
    assert {chat: texts(telegram, chat) for chat in expected} == expected


class TestFailover:
    async def test_leader_killed_mid_answer_standby_answers_once(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
        schema: PostgresSchema,
    ) -> None:
        """The leader is SIGKILLed while the model writes its answer: the standby (503
        "standby" on /healthz until then) leads within 10 s, polls, and the message is
        answered once, by it; its log lines carry its replica_id, its metrics say it leads."""
        port = unused_port()
        replicas.append(await leader(env, telegram, "r1"))
        replicas.append(await standby(env, "r2", HEALTH_PORT=str(port)))
        assert replicas[1].events("replica_standby")
        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        assert (status, json.loads(body)["reason"]) == (503, "standby: another replica is active")
        held = UnconfirmedUpdates(telegram)
        model.script(Block(asyncio.Event()))  # the leader's request never gets an answer
        telegram.send_private_text(PRIVATE, "question")
        await model.wait_for_requests(1, timeout=30)
        killed_at = time.monotonic()
        await replicas[0].kill()
        held.release()
        await replicas[1].wait_for("replica_leading", timeout=FAILOVER_S)
        polls_before = len(telegram.calls_of("getUpdates"))
        await until(
            lambda: len(telegram.calls_of("getUpdates")) > polls_before,
            "the new leader does not poll",
            timeout=FAILOVER_S,
        )
        assert time.monotonic() - killed_at < FAILOVER_S
        await all_answered(telegram, {PRIVATE: ["question"]})
        assert await postgres_rows(schema.url, "SELECT state FROM turns") == [("answered",)]
        [took_over] = replicas[1].events("replica_leading")
        assert took_over["replica_id"] == "r2"
        assert all(e.get("replica_id") == "r2" for e in replicas[1].events("reply_finished"))
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        metrics = (await get(f"http://127.0.0.1:{port}/metrics"))[1]
        assert 'bot_replica_leader{replica="r2"} 1.0' in metrics


class TestRollingRestart:
    async def test_three_replicas_restarted_one_by_one_under_traffic_lose_nothing(
        self, env: dict[str, str], telegram: FakeTelegram, replicas: list[BotProcess]
    ) -> None:
        """Three replicas; messages to five chats keep coming while each replica in turn is
        stopped (SIGTERM) and started again: every message is answered once, in order."""
        replicas.append(await leader(env, telegram, "r1"))
        replicas.append(await standby(env, "r2"))
        replicas.append(await standby(env, "r3"))
        sent: dict[int, list[str]] = {chat: [] for chat in CHATS}
        for step in range(3):
            for chat in CHATS:
                text = f"m{step}"
                sent[chat].append(text)
                telegram.send_private_text(chat, text)
            stopping = replicas.pop(0)
            assert await stopping.terminate() == 0
            replicas.append(await standby(env, f"r{step + 4}"))
        await all_answered(telegram, sent)


SECRET = "replicas-Webhook_secret-42"


class LoadBalancer:
    """What Caddy or a Kubernetes Service does in front of the replicas' webhook ports: each
    post goes to the next replica in turn; one that refuses it (standby: nothing listens;
    a replica going away) is skipped, and the post tries the next until one takes it."""

    def __init__(self, ports: list[int], path: str) -> None:
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


class TestWebhookReplicas:
    async def test_twenty_chats_five_messages_through_a_balancer_and_a_restart(
        self, env: dict[str, str], telegram: FakeTelegram, replicas: list[BotProcess]
    ) -> None:
        """Three replicas in webhook mode behind a round-robin balancer: 20 chats x 5
        messages, the leader stopped (SIGTERM) after the second round; every message is
        answered once, in order per chat."""
        ports = [unused_port() for _ in range(3)]
        hook = {"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": SECRET}

        def named(n: int) -> dict[str, str]:
            return {**env, **hook, "WEBHOOK_PORT": str(ports[n])}

        first = await BotProcess.spawn({**named(0), "REPLICA_ID": "r0"})
        replicas.append(first)
        await first.wait_for("bot_started")
        replicas.append(await standby(named(1), "r1"))
        replicas.append(await standby(named(2), "r2"))
        balancer = LoadBalancer(ports, "/telegram")
        chats = [PRIVATE + n for n in range(20)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(5):
            if step == 2:
                assert await first.terminate() == 0
            for chat in chats:
                sent[chat].append(f"m{step}")
                await balancer.post(telegram, private_update(chat, f"m{step}"))
        await all_answered(telegram, sent)
        assert len(set(balancer.taken_by)) == 2  # the first leader's port, then its successor's

    async def test_leader_killed_mid_stream_loses_nothing(
        self,
        env: dict[str, str],
        telegram: FakeTelegram,
        model: FakeOpenAI,
        replicas: list[BotProcess],
    ) -> None:
        """Two replicas behind the balancer; the model is slow, so updates wait in the
        leader's queues when it is SIGKILLed after three of five rounds: the standby takes
        over, replays the recorded updates, and every message is answered once, in order.

        The leader's final sendMessage calls are held while it is killed, so that no answer
        is accepted by Telegram in the instant before the leader could record it: that
        answer would be sent again (reliability.md, "What is not guaranteed")."""
        model.default_ttft = 0.15
        held = DeliveriesHeld(telegram)
        ports = [unused_port() for _ in range(2)]
        hook = {"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": SECRET}
        first = await BotProcess.spawn(
            {**env, **hook, "WEBHOOK_PORT": str(ports[0]), "REPLICA_ID": "r0"}
        )
        replicas.append(first)
        await first.wait_for("bot_started")
        replicas.append(await standby({**env, **hook, "WEBHOOK_PORT": str(ports[1])}, "r1"))
        balancer = LoadBalancer(ports, "/telegram")
        chats = [PRIVATE + n for n in range(10)]
        sent: dict[int, list[str]] = {chat: [] for chat in chats}
        for step in range(5):
            if step == 3:
                await held.hold()
                await first.kill()
                held.release()
            for chat in chats:
                sent[chat].append(f"m{step}")
                await balancer.post(telegram, private_update(chat, f"m{step}"))
        await all_answered(telegram, sent)
        [replayed] = replicas[1].events("inbox_replayed")
        assert replayed["updates"] > 0  # what the killed leader had taken but not handled


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
        """Hold from now on, and wait until an answer is held (the leader is mid-stream)."""
        self._gate = asyncio.Event()
        await until(lambda: self.waiting > 0, "no answer reached Telegram", timeout=20)

    def release(self) -> None:
        assert self._gate is not None
        gate, self._gate = self._gate, None
        gate.set()
