"""The stage every figure runs on: the fake servers, the real bot process, and a load driver.

`Stage` starts FakeTelegram and FakeOpenAI on 127.0.0.1 and `python -m bot` against them, with a
fresh database in a temporary directory. `drive()` plays chats that each send their next message
when the previous answer has arrived (chats in parallel, messages in series) and returns one
`Turn` per message with the timestamps the fakes recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from tests.fakes.openai import ChatRequest, FakeOpenAI
from tests.fakes.telegram import ApiCall, FakeTelegram
from tests.support.botprocess import BotProcess

TOKEN = "123456:BENCH-token-abcdef"
KEY = "sk-bench-key"
TURN_TIMEOUT_S = 120.0  # one answer; a load as a whole is bounded by the caller's sizes
WARM_UP_CHAT = 9_999  # below every load's chat ids
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ModelTiming:
    """How the fake model answers: first token after ttft, then chunks chunk_delay apart."""

    ttft: float = 0.2
    chunks: int = 20
    chunk_delay: float = 0.02
    words: int = 60  # answer length; ~400 characters, one Telegram message

    def describe(self) -> str:
        generation = self.ttft + (self.chunks - 1) * self.chunk_delay
        return (
            f"TTFT {self.ttft * 1000:.0f} ms, {self.chunks} chunks {self.chunk_delay * 1000:.0f} ms"
            f" apart (≈{generation * 1000:.0f} ms per answer), {self.words} words"
        )


def bot_python() -> str:
    """The interpreter the bot runs with: `make bench` gives it one with only the bot's own
    dependencies installed (BENCH_BOT_PYTHON, as operators install it); without it, this one.

    It matters for memory: the test extra's aiohttp, for one, is imported by the openai SDK
    whenever it is installed (~8.5 MB), though the bot never uses it.
    """
    return os.environ.get("BENCH_BOT_PYTHON") or sys.executable


def bot_env(tg: FakeTelegram, model: FakeOpenAI, db: Path, **extra: str) -> dict[str, str]:
    """The bot's settings: the fakes, a fresh database, no rate limit, no health server."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": tg.base_url,
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "bench-model",
        "DATABASE_URL": f"sqlite:///{db}",
        "HEALTH_PORT": "0",
        "RATE_LIMIT_MESSAGES": "0",  # the load would trip the per-user limit, not the bot's work
        "SUMMARY_ENABLED": "false",  # one model request per turn, so that turns match requests
        "SHUTDOWN_GRACE_SECONDS": "3",
        **extra,
    }


def marker_of(messages: list[dict[str, Any]]) -> str:
    """The first word of the last message: the driver's marker of the turn."""
    return str(messages[-1].get("content", "")).split(" ", 1)[0] if messages else ""


def answer_for(messages: list[dict[str, Any]], words: int) -> str:
    """The fake model's answer: the user's marker, then filler words."""
    return f"Answer to {marker_of(messages)}: " + " ".join(f"word{n}" for n in range(words))


@dataclass
class ProcStats:
    """What /proc says about the bot process."""

    rss_kb: int
    peak_rss_kb: int
    cpu_s: float

    @classmethod
    def read(cls, pid: int) -> ProcStats:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith("Vm")}
        # /proc/PID/stat: the command may hold spaces; fields after ")" start at state (3rd).
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(stat[11]), int(stat[12])
        return cls(int(fields["VmRSS"]), int(fields["VmHWM"]), (utime + stime) / CLOCK_TICKS)


@dataclass
class Turn:
    """One message and its answer, as the fakes saw them (time.monotonic() seconds)."""

    chat_id: int
    marker: str
    handed_out_at: float  # the update left the fake Telegram in a getUpdates answer
    delivered_at: float  # the fake Telegram answered the final sendMessage
    request: ChatRequest  # the model request; .at, .first_token_at, .finished_at

    @property
    def model_s(self) -> float:
        """The fake model's own time: request received to last chunk written."""
        assert self.request.finished_at is not None
        return self.request.finished_at - self.request.at

    @property
    def before_model_s(self) -> float:
        """Update handed out → the model request arrived: receiving, storing, building context."""
        return self.request.at - self.handed_out_at

    @property
    def after_model_s(self) -> float:
        """Last chunk written → final sendMessage answered: finishing, storing, delivering."""
        assert self.request.finished_at is not None
        return self.delivered_at - self.request.finished_at

    @property
    def overhead_s(self) -> float:
        """Update available to the bot → answer delivered, minus the model's own time."""
        return self.delivered_at - self.handed_out_at - self.model_s


@dataclass
class Load:
    """A driven load: its turns and its wall time (first message pushed → last answer)."""

    turns: list[Turn]
    wall_s: float
    cpu_s: float  # the bot process's CPU seconds (user + system) during the load
    driver_cpu_s: float  # this process's: the fakes and the driver, on the same machine
    flood_errors: int  # 429s the fake Telegram answered during the load

    @property
    def ideal_s(self) -> float:
        """Chats in parallel, each chat's messages in series, model time only."""
        per_chat: dict[int, float] = {}
        for turn in self.turns:
            per_chat[turn.chat_id] = per_chat.get(turn.chat_id, 0.0) + turn.model_s
        return max(per_chat.values())


@dataclass
class Stage:
    """The fakes and the bot process; `async with Stage(timing) as stage:`."""

    timing: ModelTiming = field(default_factory=ModelTiming)
    env: dict[str, str] = field(default_factory=dict)
    flood_interval: float | None = None
    floor: bool = False  # run bench/floor.py (the framework-free floor) instead of the bot
    tg: FakeTelegram = field(init=False)
    model: FakeOpenAI = field(init=False)
    bot: BotProcess = field(init=False)
    bot_env: dict[str, str] = field(init=False)  # what the bot process was started with
    spawned_at: float = field(init=False)  # just before the process was spawned
    first_poll_at: float = field(init=False)  # its first getUpdates reached the fake
    _waiters: dict[int, asyncio.Future[ApiCall]] = field(init=False, default_factory=dict)
    _stack: contextlib.AsyncExitStack = field(init=False)

    async def __aenter__(self) -> Self:
        self._stack = contextlib.AsyncExitStack()
        tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
        self.tg = await self._stack.enter_async_context(FakeTelegram(token=TOKEN))
        self.model = await self._stack.enter_async_context(FakeOpenAI(api_key=KEY))
        timing = self.timing
        self.model.default_ttft, self.model.default_chunk_delay = timing.ttft, timing.chunk_delay
        self.model.default_chunks = timing.chunks
        self.model.reply_with(lambda messages: answer_for(messages, timing.words))
        self.tg.flood_limit(self.flood_interval)
        self.tg.on_call("sendMessage", self._answered)
        env = bot_env(self.tg, self.model, Path(tmp) / "bench.db", **self.env)
        self.bot_env = env
        self.spawned_at = time.monotonic()
        if self.floor:  # aiohttp is the bench's own (test extra), not the bot's
            self.bot = await BotProcess.start(env, self.tg, sys.executable, "bench.floor")
        else:
            self.bot = await BotProcess.start(env, self.tg, bot_python())
        self._stack.push_async_callback(self._stop_bot)
        self.first_poll_at = self.tg.calls_of("getUpdates")[0].at
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def _stop_bot(self) -> None:
        try:
            await self.bot.terminate(timeout=15)
        except TimeoutError:
            await self.bot.kill()

    def stats(self) -> ProcStats:
        return ProcStats.read(self.bot.pid)

    async def _answered(self, call: ApiCall) -> None:
        """A private chat's final answer is its one sendMessage (drafts stream before it)."""
        waiter = self._waiters.get(int(call.chat_id))
        if waiter is not None:
            # Resolved once the fake has answered the call, not when it starts processing it.
            asyncio.get_running_loop().call_soon(_resolve, waiter, call)

    async def warm_up(self) -> None:
        """One answer, in a chat of its own, before a load is measured: what a process does
        once (the model SDK is imported with the first question, connections are opened) is
        not the cost of an answer. The floor is warmed up the same way."""
        await self.ask(WARM_UP_CHAT, "warm-up")

    async def ask(self, chat_id: int, marker: str) -> tuple[dict[str, Any], ApiCall]:
        """Send a private message and wait for the answer's sendMessage to be answered."""
        waiter: asyncio.Future[ApiCall] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id] = waiter
        update = self.tg.send_private_text(chat_id, f"{marker} hello, tell me something")
        try:
            call = await asyncio.wait_for(waiter, TURN_TIMEOUT_S)
        finally:
            del self._waiters[chat_id]
        return update, call


def _resolve(waiter: asyncio.Future[ApiCall], call: ApiCall) -> None:
    """Runs just after the fake's answer; a refused call (answered_at unset) is not the answer."""
    if not waiter.done() and call.answered_at is not None:
        waiter.set_result(call)


async def drive(
    stage: Stage, chat_ids: list[int], messages: int, in_flight: int | None = None
) -> Load:
    """Each chat sends `messages` messages, the next when the previous answer has arrived."""
    limit = asyncio.Semaphore(in_flight or len(chat_ids))
    sent: list[tuple[int, str, dict[str, Any], ApiCall]] = []

    async def chat(chat_id: int) -> None:
        async with limit:
            for n in range(messages):
                marker = f"m{chat_id}-{n}"
                update, call = await stage.ask(chat_id, marker)
                sent.append((chat_id, marker, update, call))

    cpu_before, driver_before = stage.stats().cpu_s, time.process_time()
    floods_before = len(stage.tg.flood_errors)
    started = time.monotonic()
    await asyncio.gather(*(chat(c) for c in chat_ids))
    cpu, driver = stage.stats().cpu_s - cpu_before, time.process_time() - driver_before
    await asyncio.sleep(0.05)  # the last answers' finished_at/answered_at are set by now
    requests = {marker_of(r.messages): r for r in stage.model.requests}
    turns = [
        Turn(
            chat_id,
            marker,
            handed_out_at=stage.tg.handed_out_at[int(update["update_id"])],
            delivered_at=_answered_at(call),
            request=requests[marker],
        )
        for chat_id, marker, update, call in sent
    ]
    wall = max(t.delivered_at for t in turns) - started
    return Load(turns, wall, cpu, driver, len(stage.tg.flood_errors) - floods_before)


def _answered_at(call: ApiCall) -> float:
    assert call.answered_at is not None, "the final sendMessage was not answered"
    return call.answered_at


async def burst(stage: Stage, chat_ids: list[int], messages: int) -> tuple[float, float]:
    """Every chat sends all its `messages` at once (the next before the answer to the previous);
    the wall time (first message → last answer delivered) and its ideal: the longest chat's
    model time, its messages answered in series."""
    markers = {f"b{chat}-{n}" for chat in chat_ids for n in range(messages)}
    started = time.monotonic()
    for n in range(messages):
        for chat in chat_ids:
            stage.tg.send_private_text(chat, f"b{chat}-{n} hello, tell me something")
    answered: dict[str, float] = {}
    seen = 0
    while len(answered) < len(markers):
        assert time.monotonic() - started < TURN_TIMEOUT_S, "the burst was not answered"
        await asyncio.sleep(0.02)
        calls = stage.tg.calls
        for call in calls[seen:]:
            if call.method == "sendMessage" and call.answered_at is not None:
                marker = str(call.params.get("text", "")).split(" ", 3)[2].rstrip(":")
                if marker in markers:
                    answered[marker] = call.answered_at
        # Calls still unanswered are looked at again next time.
        seen = next(
            (i for i in range(seen, len(calls)) if calls[i].answered_at is None), len(calls)
        )
    await asyncio.sleep(0.05)  # the last requests' finished_at are set by now
    per_chat: dict[int, float] = {}
    for request in stage.model.requests:
        marker = marker_of(request.messages)
        if marker in markers and request.finished_at is not None:
            chat = int(marker[1:].split("-")[0])
            per_chat[chat] = per_chat.get(chat, 0.0) + request.finished_at - request.at
    return max(answered.values()) - started, max(per_chat.values())
