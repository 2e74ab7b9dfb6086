"""Storage scaling, measured (figure 4): the database work of one answered turn, by size.

One turn is exactly the storage calls the bot makes for an answered text message with the
default settings (no budgets, summaries on), through the real SQLite repositories:

    add_turn              the message is stored first            (handlers/chat.py -> submit)
    chat_settings         the chat's model and prompt            (Conversation.generate)
    chat_summary          the rolling summary ...                (Conversation._messages)
    recent_turns(9)       ... and the newest turns after it, with their files and the
                          message's (one read)
    save_answer           answer + usage, atomically             (Conversation.generate)
    mark_answered         delivered                              (Conversation.delivered)
    chat_summary, chat_settings, recent_turns(49)
                          the background summary check           (Summarizer._plan)
    record_usage + save_summary, every 4th turn
                          the fold of the 4 oldest unsummarised turns (Summarizer._fold)

With budgets on (all five set, none reached), the guard first reads the user's day and
month and everyone's month (Budgets.overrun: 3 usage_totals). Left out, as they do not touch
the stored history: the token calibration's save (a one-row upsert, every 10th answer) and
what lives in memory (rate limit, chat locks).

The fold makes turns periodic, so the unit timed is a cycle of 4 turns (one fold): per turn,
a round's median cycle / 4; the figure is the median over rounds, the spread their IQR, and
the verdict the slowest size's median over the fastest's (with that ratio's range by round).
"Messages" are counted as the bot's /stats counts them: a turn holds two (question, answer).

Two shapes: one big group chat holding every message; many private chats of 20 messages
each, written interleaved in time as real traffic would, each measured cycle in another of
them. The databases are made by the storage's own migrations, then filled in bulk with rows
like the bot's (turns, usage, chat counters, summaries; ~1% failed turns), and cached under
bench/out/storage/ by size, shape and schema version. Each run works on a copy, with a warm
page cache (as in a running bot); sizes are interleaved round by round against the noise.

    .venv/bin/python -m bench.storage [--smoke | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import ConversationSettings, SummarySettings
from bot.engine.accounting.periods import Period
from bot.engine.conversation.context import Limits, history_window
from bot.engine.conversation.folding import MAX_BATCH_TURNS, plan_fold, unsummarised
from bot.engine.policy.budgets import Budget, Budgets, Metric, Scope
from bot.storage import sqlite
from bot.storage.records import NewTurn, Summary, Usage
from bot.storage.repositories import Stores
from bot.storage.sqlite.database import Database, migrations

FIGURE = "4. Storage scaling"
TARGET_RATIO = 2.0
OUT = Path(__file__).parent / "out" / "storage"
DATA_VERSION = 2  # bump when the generated rows change, to rebuild the cached databases

SIZES = {"smoke": (100, 1_000), "quick": (1_000, 100_000), "full": (1_000, 100_000, 1_000_000)}
ROUNDS = {"smoke": 2, "quick": 10, "full": 25}  # each round times CYCLES cycles of every size
CYCLES = {"smoke": 2, "quick": 4, "full": 4}

MAX_MESSAGES = int(ConversationSettings.model_fields["max_history_messages"].default)
SUMMARY_MIN_TURNS = int(SummarySettings.model_fields["summary_min_turns"].default)
LIMITS = Limits(MAX_MESSAGES, 7_000)
WINDOW = history_window(LIMITS)  # turns read for a request (9 by default)
CYCLE = SUMMARY_MIN_TURNS  # turns between two folds in a long chat
TURNS_PER_CHAT = 10  # the many-chats shape: 20 messages each
GROUP_USERS = 50
SECONDS_PER_TURN = 10.0  # the bot's traffic, for timestamps: one answered turn every 10 s
# The stored history ends late in a month, so a month's budget counts 27 days of requests
# (fixed, so that the figure does not depend on the day it is run).
NOW = datetime(2026, 1, 28, 12, tzinfo=UTC).timestamp()
# Every budget the bot offers, set so high that no request is refused: the guard's reads.
BUDGETS = [
    Budget(scope, period, metric, 1e12)
    for scope, period, metric in [
        (Scope.USER, Period.DAY, Metric.TOKENS),
        (Scope.USER, Period.MONTH, Metric.TOKENS),
        (Scope.USER, Period.DAY, Metric.COST),
        (Scope.USER, Period.MONTH, Metric.COST),
        (Scope.EVERYONE, Period.MONTH, Metric.COST),
    ]
]
MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class Shape:
    name: str  # "one chat" or "many chats"
    key: str


ONE_CHAT = Shape("one chat", "one")
MANY_CHATS = Shape("many chats", "many")
BIG_CHAT = "tg:-1001234567890"


def _private_chat(index: int) -> str:
    return f"tg:{100_000_000 + index}"


# -- the data -------------------------------------------------------------------------------

_VOCABULARY = (
    "the a to of and in is it you that for on with as this be are can not or was at "
    "model answer python bot message chat token server error config file test please "
    "thanks explain why how what when does list example code function data"
)
_WORDS = _VOCABULARY.split()


def _texts(rng: random.Random, count: int, low: int, high: int) -> list[str]:
    """`count` texts of `low`..`high` characters, made of words (they compress like text)."""
    texts = []
    for _ in range(count):
        size, words = rng.randint(low, high), list[str]()
        while sum(len(w) + 1 for w in words) < size:
            words.append(rng.choice(_WORDS))
        texts.append(" ".join(words)[:size])
    return texts


def _chat_order(shape: Shape, turns: int, rng: random.Random) -> list[int]:
    """Which chat each stored turn belongs to, in the order they were written."""
    if shape is ONE_CHAT:
        return [0] * turns
    order = [i // TURNS_PER_CHAT for i in range(turns)]
    rng.shuffle(order)  # chats talk at the same time: their turns interleave
    return order


def _populate(path: Path, shape: Shape, messages: int) -> None:
    """Fill a freshly migrated database with `messages` messages, as the bot would have."""
    rng = random.Random(f"{shape.key}-{messages}")
    questions, answers = _texts(rng, 1_000, 20, 300), _texts(rng, 1_000, 200, 1_500)
    turns = messages // 2
    order = _chat_order(shape, turns, rng)
    start = NOW - turns * SECONDS_PER_TURN
    turn_rows: list[tuple[object, ...]] = []
    usage_rows: list[tuple[object, ...]] = []
    per_chat: dict[int, list[int]] = {}
    for i, chat in enumerate(order):
        turn_id, at = i + 1, start + i * SECONDS_PER_TURN
        if shape is ONE_CHAT:
            chat_id, user = BIG_CHAT, rng.randrange(GROUP_USERS)
            user_id, speaker = str(5_000_000 + user), f"User {user}"
        else:
            chat_id, user_id, speaker = _private_chat(chat), _private_chat(chat)[3:], None
        failed = rng.random() < 0.01
        answer = None if failed else rng.choice(answers)
        turn_rows.append(
            (turn_id, chat_id, f"tg:update:{500_000_000 + i}", str(10_000 + i), user_id,
             speaker, rng.choice(questions), answer, "failed" if failed else "answered",
             "timeout" if failed else None, None if failed else MODEL, at, at + 3.0)
        )  # fmt: skip
        if not failed:
            prompt, completion = rng.randint(800, 3_000), rng.randint(50, 400)
            cost = (prompt * 0.15 + completion * 0.6) / 1e6
            usage_rows.append((chat_id, user_id, turn_id, prompt, completion, cost, at + 2.0))
            per_chat.setdefault(chat, []).append(turn_id)
            if len(per_chat[chat]) % CYCLE == 0 and len(per_chat[chat]) > WINDOW:  # a fold
                usage_rows.append((chat_id, None, None, 1_500, 300, 0.0004, at + 5.0))
    chat_ids = {c: BIG_CHAT if shape is ONE_CHAT else _private_chat(c) for c in per_chat}
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous = OFF")
        with db:
            db.executemany(
                "INSERT INTO turns (id, chat_id, source_key, reply_to, user_id, speaker,"
                " user_text, answer, state, error_type, model, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                turn_rows,
            )
            db.executemany(
                "INSERT INTO usage (chat_id, user_id, turn_id, model, prompt_tokens,"
                f" completion_tokens, cost_usd, estimated, at) VALUES (?, ?, ?, '{MODEL}',"
                " ?, ?, ?, 0, ?)",
                usage_rows,
            )
            db.execute(
                "INSERT INTO chats (chat_id, requests, prompt_tokens, completion_tokens,"
                " cost_usd, created_at) SELECT chat_id, COUNT(*), SUM(prompt_tokens),"
                " SUM(completion_tokens), SUM(cost_usd), MIN(at) FROM usage GROUP BY chat_id"
            )
            # Each chat's summary leaves its newest 6 turns out: the next fold is 4 turns away.
            db.executemany(
                "INSERT INTO chat_summaries (chat_id, text, covers_to, updated_at)"
                " VALUES (?, ?, ?, ?)",
                [
                    (chat_ids[c], rng.choice(answers), ids[-(WINDOW + 2 - CYCLE)], start)
                    for c, ids in per_chat.items()
                    if len(ids) >= WINDOW + 2 - CYCLE
                ],
            )
            _add_up_by_day(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _add_up_by_day(db: sqlite3.Connection) -> None:
    """The per-day usage totals (schema 4 on), as the bot keeps them with each usage row."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "usage_days" not in tables:
        return
    day = "CAST(at / 86400 AS INTEGER) * 86400"
    sums = "COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), COALESCE(SUM(cost_usd), 0)"
    db.execute(f"INSERT INTO usage_days SELECT {day}, {sums} FROM usage GROUP BY 1")
    db.execute(
        f"INSERT INTO usage_user_days SELECT user_id, {day}, {sums} FROM usage"
        " WHERE user_id IS NOT NULL GROUP BY 1, 2"
    )


def _schema_version() -> int:
    return migrations()[-1][0]


async def _build(path: Path, shape: Shape, messages: int) -> None:
    """The storage's own migrations make the schema; the rows go in in bulk."""
    database = Database(path)
    await database.open()
    await database.close()
    _populate(path, shape, messages)


def _prune(kept: Path, pattern: str) -> None:
    """Delete the other schemas' or generators' copies of a database: never read again."""
    for stale in kept.parent.glob(pattern):
        if stale != kept:
            stale.unlink()


async def database(shape: Shape, messages: int, folder: Path) -> Path:
    """The populated database for this shape and size (built once per schema version)."""
    name = f"{shape.key}-{messages}-schema{_schema_version()}-data{DATA_VERSION}.db"
    path = folder / name
    if not path.exists():
        started = time.monotonic()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        await _build(partial, shape, messages)
        partial.rename(path)
        _prune(path, f"{shape.key}-{messages}-schema*.db")
        print(f"built {name} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return path


# -- the turn -------------------------------------------------------------------------------


class Turns:
    """Plays answered turns against one storage, the bot's storage calls in the bot's order."""

    def __init__(
        self, stores: Stores, shape: Shape, messages: int, *, seed: int, budgets: bool
    ) -> None:
        self.stores = stores
        self.shape = shape
        self.budgets = Budgets(stores.usage, BUDGETS if budgets else [], lambda: NOW)
        self.chats = max(1, messages // 2 // TURNS_PER_CHAT)
        self.rng = random.Random(seed)
        self.question = "how does the context window work here, and why is it trimmed?"
        self.answer = " ".join(self.rng.choice(_WORDS) for _ in range(120))
        self.update_id = 900_000_000

    def _chat(self) -> tuple[str, str]:
        if self.shape is ONE_CHAT:
            return BIG_CHAT, str(5_000_000 + self.rng.randrange(GROUP_USERS))
        chat = _private_chat(self.rng.randrange(self.chats))
        return chat, chat[3:]

    async def cycle(self) -> float:
        """Seconds for CYCLE turns in one chat, the last of which folds the summary."""
        chat_id, user_id = self._chat()
        started = time.perf_counter()
        for _ in range(CYCLE):
            await self.turn(chat_id, user_id)
        return time.perf_counter() - started

    async def turn(self, chat_id: str, user_id: str) -> None:
        s, now = self.stores, time.time()
        assert await self.budgets.overrun(user_id) is None  # the guard (none unless budgets)
        self.update_id += 1
        turn = await s.turns.add(
            NewTurn(chat_id, self.question, f"tg:update:{self.update_id}", str(self.update_id),
                    user_id, None if self.shape is MANY_CHATS else "Bench", sent_at=now),
            now=now,
        )  # fmt: skip
        assert turn is not None
        await s.chats.settings(chat_id)
        summary = await s.summaries.get(chat_id)
        history, _ = await s.turns.recent_with_attachments(chat_id, WINDOW, also=[turn.id])
        assert len(unsummarised(summary, history)) <= WINDOW
        usage = Usage(MODEL, 2_000, 200, 0.0004)
        await s.turns.save_answer(turn.id, self.answer, usage, now=now)
        await s.turns.mark_answered(turn.id, now=now)
        await self._summary_check(chat_id, now)

    async def _summary_check(self, chat_id: str, now: float) -> None:
        """What Summarizer._plan reads after each answer, and _fold writes when it folds."""
        s = self.stores
        previous = await s.summaries.get(chat_id)
        await s.chats.settings(chat_id)
        uncovered = unsummarised(previous, await s.turns.recent(chat_id, WINDOW + MAX_BATCH_TURNS))
        folded = plan_fold(uncovered, min(len(uncovered), WINDOW), SUMMARY_MIN_TURNS)
        if not folded:
            return
        await s.usage.record(chat_id, Usage(MODEL, 1_500, 300, 0.0004), now=now)
        covers_to = previous.covers_to if previous else None
        saved = await s.summaries.save(
            chat_id, Summary("the summary so far", folded[-1].id), previous=covers_to, now=now
        )
        assert saved


# -- the measurement ------------------------------------------------------------------------


@contextmanager
def _folder(scale: str) -> Iterator[Path]:
    """Where the databases live: a temporary folder for smoke, the cache otherwise."""
    if scale == "smoke":
        with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
            yield Path(tmp)
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        yield OUT


async def _measure(
    shape: Shape, scale: str, folder: Path, *, budgets: bool
) -> dict[int, list[float]]:
    """Per size, the per-turn milliseconds of each round (its cycles' median)."""
    rounds: dict[int, list[float]] = {size: [] for size in SIZES[scale]}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as run:
        async with AsyncExitStack() as stack:
            players = {}
            for size in SIZES[scale]:
                copy = Path(run) / f"{shape.key}-{size}.db"
                shutil.copyfile(await database(shape, size, folder), copy)
                db = Database(copy)
                await db.open()
                stack.push_async_callback(db.close)
                players[size] = Turns(sqlite.stores(db), shape, size, seed=size, budgets=budgets)
                await players[size].cycle()  # warm-up
            for _ in range(ROUNDS[scale]):
                for size, player in players.items():
                    cycles = [await player.cycle() for _ in range(CYCLES[scale])]
                    rounds[size].append(statistics.median(cycles) / CYCLE * 1000)
    return rounds


def _label(messages: int) -> str:
    if messages >= 1_000_000:
        return f"{messages / 1_000_000:g}M"
    return f"{messages / 1000:g}k" if messages >= 1000 else str(messages)


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _rows(name: str, rounds: dict[int, list[float]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    medians = {size: statistics.median(values) for size, values in rounds.items()}
    for size, values in rounds.items():
        q1, _, q3 = _quartiles(values)
        rows.append(
            {
                "figure": FIGURE,
                "measure": f"per-turn DB work, {name}, {_label(size)} msgs, median ms",
                "value": f"{medians[size]:.2f}",
                "spread": f"IQR {q1:.2f}–{q3:.2f}",
                "target": "",
                "met": None,
            }
        )
    ratio = max(medians.values()) / min(medians.values())
    per_round = [max(r) / min(r) for r in zip(*rounds.values(), strict=True)]
    rows.append(
        {
            "figure": FIGURE,
            "measure": f"slowest/fastest size, {name} "
            f"({_label(min(rounds))}–{_label(max(rounds))} msgs)",
            "value": f"{ratio:.2f}×",
            "spread": f"rounds {min(per_round):.2f}–{max(per_round):.2f}×",
            "target": f"≤ {TARGET_RATIO:g}×",
            "met": ratio <= TARGET_RATIO,
        }
    )
    return rows


def run(scale: str) -> list[dict[str, object]]:
    """The figure's rows at this scale: smoke (tiny, seconds), quick, or full (up to 1M)."""
    if scale not in SIZES:
        raise ValueError(f"scale must be one of {sorted(SIZES)}, not {scale!r}")
    rows: list[dict[str, object]] = []
    with _folder(scale) as folder:
        for budgets in (False, True):
            for shape in (ONE_CHAT, MANY_CHATS):
                name = f"{shape.name}, budgets on" if budgets else shape.name
                rounds = asyncio.run(_measure(shape, scale, folder, budgets=budgets))
                rows += _rows(name, rounds)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_const", dest="scale", const="smoke")
    group.add_argument("--quick", action="store_const", dest="scale", const="quick")
    scale = parser.parse_args().scale or "full"
    started = time.monotonic()
    rows = run(scale)
    width = max(len(str(r["measure"])) for r in rows)
    for r in rows:
        met = {True: "met", False: "NOT met", None: ""}[r["met"]]  # type: ignore[index]
        print(f"{r['measure']:<{width}}  {r['value']:>8}  {r['spread']:<22} {r['target']:<6} {met}")
    print(f"({scale}: {time.monotonic() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
