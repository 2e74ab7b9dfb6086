"""Background work keyed by conversation: at most one task per key, a few in all.

Summaries and titles are made off the reply's path; neither may pile up (one per conversation
at a time, `limit` across all) nor outlive the engine (`close` cancels what is in flight:
such work is never worth waiting for at shutdown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class KeyedTasks:
    """Tasks by key; a key's entry goes when its task ends, however it ends."""

    def __init__(self, limit: int, kind: str) -> None:
        self.limit = limit
        self._kind = kind  # names the tasks ("summary tg:1"), for debugging
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._tasks

    @property
    def full(self) -> bool:
        """Whether `limit` tasks are running (start nothing more now)."""
        return len(self._tasks) >= self.limit

    def start(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` for `key` in the background (the caller checked `key in` and `full`)."""
        task = asyncio.create_task(work, name=f"{self._kind} {key}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def close(self) -> None:
        """Cancel every task in flight and wait until they have ended."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
