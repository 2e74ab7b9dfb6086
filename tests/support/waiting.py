"""Waiting on the bot without fixed sleeps: bounded polls, and bounded proof that nothing more
happens.

A check that something did NOT happen first waits for the moment the bot has dealt with the
update (its `update_received` event, or Telegram leaving the update out), then for the bot to
go quiet: whatever the bot does in reaction to an update starts within milliseconds of taking
it, so a wrong reaction shows up in the quiet window, and a slow machine only makes the wait
longer, never the check weaker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.support.running import LogCapture, RunningBot

QUIET_SECONDS = 0.3


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll until `predicate()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


def last_activity(bot: RunningBot) -> float:
    """When the bot last called Telegram (long polls aside) or the model, in monotonic time."""
    calls = [call.at for call in bot.telegram.calls if call.method != "getUpdates"]
    requests = [request.at for request in bot.model.requests]
    return max([*calls, *requests], default=0.0)


async def quiet_for(bot: RunningBot, seconds: float = QUIET_SECONDS, timeout: float = 10) -> None:
    """Wait until the bot has made no call to Telegram or the model for `seconds` (counted from
    now at the earliest); fail when it is still busy after `timeout` seconds."""
    start = time.monotonic()
    deadline = start + timeout
    while (idle := time.monotonic() - max(last_activity(bot), start)) < seconds:
        assert time.monotonic() < deadline, "the bot kept calling Telegram or the model"
        await asyncio.sleep(min(seconds - idle, 0.05))


async def handled(bot: RunningBot, logs: LogCapture, update_id: int, timeout: float = 10) -> None:
    """Wait until the bot has taken the update and then gone quiet (see `quiet_for`).

    An update of a type the bot did not ask for (allowed_updates) is never delivered: then
    there is nothing to wait for but the quiet.
    """

    def taken() -> bool:
        return any(e.get("update_id") == update_id for e in logs.named("update_received"))

    def left_out() -> bool:
        pending = {int(u["update_id"]) for u in bot.telegram.pending_updates()}
        return update_id not in bot.telegram.handed_out_at and update_id not in pending

    await until(lambda: taken() or left_out(), f"update {update_id} never reached the bot", timeout)
    await quiet_for(bot, timeout=timeout)
