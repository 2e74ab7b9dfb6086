"""Streaming, measured: a 100-chunk answer streamed by the real bot over the fake servers.

For private chats (drafts) and groups (edits) it prints the delay from the model's first
token (written by the fake model) to the first visible text (the draft or message arriving
at the fake Telegram), the bot's own first-visible time (first chunk received -> Telegram
answered), and how many drafts, edits and Bot API calls the answer cost.

    .venv/bin/python -m bench.streaming [--runs 5] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, load_settings
from bot.logs import configure_logging
from bot.telegram.runner import serve
from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:BENCH-token-abcdef"
KEY = "sk-bench"
ANSWER = " ".join(f"word{n}" for n in range(400))  # ~3,600 characters, one message
VISIBLE = ("sendMessageDraft", "sendMessage")


@dataclass
class Run:
    first_token_to_visible_ms: float
    bot_first_visible_ms: float
    drafts: int
    edits: int
    sends: int
    api_calls: int  # every Bot API call for the chat, "typing…" included
    flood_errors: int


async def one_run(tg: FakeTelegram, model: FakeOpenAI, logs: io.StringIO, chat_id: int) -> Run:
    start_calls, start_requests = len(tg.calls), len(model.requests)
    done_before = logs.getvalue().count('"reply_finished"')
    if chat_id > 0:
        tg.send_private_text(chat_id, "bench")
    else:
        tg.send_group_text(chat_id, "@test_llm_bot bench", user_id=7, first_name="Bench")
    while logs.getvalue().count('"reply_finished"') <= done_before:  # noqa: ASYNC110 - a log
        await asyncio.sleep(0.01)
    calls = [c for c in tg.calls[start_calls:] if str(c.chat_id) == str(chat_id)]
    request = model.requests[start_requests]
    assert request.first_token_at is not None
    first = next(c for c in calls if c.method in VISIBLE)
    events = [json.loads(line) for line in logs.getvalue().splitlines()]
    [stream] = [
        e for e in events if e.get("event") == "stream_finished" and e["chat_id"] == chat_id
    ]
    return Run(
        first_token_to_visible_ms=(first.at - request.first_token_at) * 1000,
        bot_first_visible_ms=stream["first_visible_ms"],
        drafts=sum(c.method == "sendMessageDraft" for c in calls),
        edits=sum(c.method == "editMessageText" for c in calls),
        sends=sum(c.method == "sendMessage" for c in calls),
        api_calls=len(calls),
        flood_errors=sum(str(c.chat_id) == str(chat_id) for c in tg.flood_errors),
    )


def settings_for(tg: FakeTelegram, model: FakeOpenAI, db: Path, interval: float) -> Settings:
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)
    os.environ.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=tg.base_url,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=model.base_url,
        OPENAI_MODEL="bench",
        DATABASE_URL=f"sqlite:///{db}",
        STREAM_EDIT_INTERVAL=str(interval),
        MAX_OUTPUT_TOKENS="4000",
        MAX_CONTEXT_TOKENS="100000",
    )
    return load_settings(env_file=None)


async def bench(runs: int, interval: float, chunk_delay: float) -> dict[str, list[Run]]:
    logs = io.StringIO()
    configure_logging(level="INFO", fmt="json", secrets=[TOKEN, KEY], stream=logs)
    results: dict[str, list[Run]] = {"private": [], "group": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=TOKEN) as tg, FakeOpenAI(api_key=KEY) as model:
            tg.flood_limit(1.0)  # Telegram's ~1 update/s per chat, as 429s
            model.default_chunks, model.default_chunk_delay = 100, chunk_delay
            model.reply_with(lambda _messages: ANSWER)
            stop = asyncio.Event()
            task = asyncio.create_task(
                serve(settings_for(tg, model, Path(tmp) / "bench.db", interval), stop)
            )
            await tg.wait_for_call("getUpdates", timeout=10)
            for n in range(runs):
                results["private"].append(await one_run(tg, model, logs, 5000 + n))
                results["group"].append(await one_run(tg, model, logs, -5000 - n))
            stop.set()
            await task
    return results


def report(kind: str, runs: list[Run]) -> None:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):7.1f} (min {min(values):.1f}, max {max(values):.1f})"

    print(f"  {kind}:")
    print(
        f"    first token -> first visible text, ms: {med([r.first_token_to_visible_ms for r in runs])}"
    )  # noqa: E501
    print(
        f"    bot: first chunk -> Telegram answered, ms: {med([r.bot_first_visible_ms for r in runs])}"
    )  # noqa: E501
    for field in ("drafts", "edits", "sends", "api_calls", "flood_errors"):
        print(f"    {field:>12}: {med([float(getattr(r, field)) for r in runs])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--chunk-delay", type=float, nargs="+", default=[0.02, 0.05])
    args = parser.parse_args()
    for delay in args.chunk_delay:
        print(
            f"100 chunks, {delay * 1000:.0f} ms apart ({100 * delay:.1f} s of generation), "
            f"STREAM_EDIT_INTERVAL={args.interval}, {args.runs} runs, median (min, max):"
        )
        results = asyncio.run(bench(args.runs, args.interval, delay))
        for kind, runs in results.items():
            report(kind, runs)


if __name__ == "__main__":
    main()
