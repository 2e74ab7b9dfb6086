"""Figure 3: how soon a streamed answer becomes visible, and what it costs in Bot API calls.

One chat at a time talks to the real bot process while the fake Telegram answers 429 to a chat's
second draft or edit within a second (Telegram's ~1 update/s/chat). Per answer: the delay from
the model's first token (written by the fake model) to the first visible text arriving at the
fake Telegram (sendMessageDraft in private chats, sendMessage in groups), every Bot API call
the answer cost ("typing…" included), and the 429s it ran into.

    python -m bench.streaming [--smoke|--quick]
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.harness import ModelTiming, Stage
from bench.rows import Row, main, row

FIGURE = "3. First visible text"
VISIBLE = ("sendMessageDraft", "sendMessage")
LONG = ModelTiming(ttft=0.2, chunks=100, chunk_delay=0.02, words=400)  # ~2.2 s, ~3,600 chars
TIMING = {"smoke": ModelTiming(), "quick": LONG, "full": LONG}
RUNS = {"smoke": 1, "quick": 4, "full": 7}


@dataclass
class Answer:
    first_visible_ms: float
    api_calls: int
    flood_errors: int


async def one_answer(stage: Stage, chat_id: int, done: int) -> Answer:
    """One message in a new chat (private if chat_id > 0, else a group) and its answer."""
    tg, start_calls, start_requests = stage.tg, len(stage.tg.calls), len(stage.model.requests)
    if chat_id > 0:
        await stage.ask(chat_id, f"s{chat_id}")
    else:
        tg.send_group_text(chat_id, "@test_llm_bot tell me something", user_id=7, first_name="B")
    await stage.bot.wait_for("stream_finished", count=done + 1, timeout=60)
    calls = [c for c in tg.calls[start_calls:] if str(c.chat_id) == str(chat_id)]
    first_token = stage.model.requests[start_requests].first_token_at
    assert first_token is not None
    first = next(c for c in calls if c.method in VISIBLE)
    return Answer(
        first_visible_ms=(first.at - first_token) * 1000,
        api_calls=len(calls),
        flood_errors=sum(str(c.chat_id) == str(chat_id) for c in tg.flood_errors),
    )


async def _run(scale: str, runs: int) -> list[Row]:
    answers: dict[str, list[Answer]] = {"private": [], "group": []}
    async with Stage(TIMING[scale], flood_interval=1.0) as stage:
        for n in range(runs):
            answers["private"].append(await one_answer(stage, 20_001 + n, 2 * n))
            answers["group"].append(await one_answer(stage, -20_001 - n, 2 * n + 1))
    found = []
    for kind, runs_of_kind in answers.items():
        private = kind == "private"
        found += [
            row(
                FIGURE,
                f"first token → first visible text, {kind} chat",
                [a.first_visible_ms for a in runs_of_kind],
                "ms",
                target="≤ 30 ms" if private else "",
                limit=30.0 if private else None,
            ),
            row(
                FIGURE,
                f"Bot API calls per answer, {kind} chat",
                [float(a.api_calls) for a in runs_of_kind],
                digits=0,
            ),
            row(
                FIGURE,
                f"429s per answer at 1 edit/s/chat, {kind} chat",
                [float(a.flood_errors) for a in runs_of_kind],
                target="0",
                limit=0.0,
                digits=0,
            ),
        ]
    return found


def run(scale: str, runs: int | None = None) -> list[Row]:
    """Figure 3 at this scale; runs overrides the scale's number of answers per chat type."""
    return asyncio.run(_run(scale, runs or RUNS[scale]))


if __name__ == "__main__":
    main(run, __doc__)
