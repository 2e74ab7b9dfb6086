"""The floor: the least a Python bot on asyncio can spend per answer, to measure the bot against.

`python -m bench.floor` is a framework-free bot on aiohttp alone, with the bot's settings
(TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL): it
long-polls getUpdates, and for each private text message says "typing…", streams the model's
answer (SSE) into a draft at most once a second per chat (Telegram's limit; the last message
counts, as in the bot's pacing), and sends the whole answer as one message, as the bot does.
No storage, no history, no retries, no logs, no Markdown, the standard library's json and
event loop: what is left is the HTTP and JSON work of an answer, which no bot can avoid. The
benchmark runs it beside the bot under the same load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from typing import Any

import aiohttp

DRAFT_INTERVAL_S = 1.0  # Telegram's ~1 draft or edit per second per chat


class Floor:
    """One Bot API session and one model session; an answer per private text message."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        env = os.environ
        base = env.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")
        self.api = f"{base}{env['TELEGRAM_BOT_TOKEN']}/"
        self.model_url = f"{env['OPENAI_BASE_URL'].rstrip('/')}/chat/completions"
        self.model = env.get("OPENAI_MODEL", "gpt-4o-mini")
        self.auth = {"Authorization": f"Bearer {env['OPENAI_API_KEY']}"}
        self.http = http
        self.tasks: set[asyncio.Task[None]] = set()
        self.locks: dict[int, asyncio.Lock] = {}  # a chat's messages answered in order
        self.last_update: dict[int, float] = {}  # per chat: its last draft or message, as the bot

    async def call(self, method: str, **params: Any) -> Any:
        async with self.http.post(self.api + method, json=params) as response:
            return (await response.json()).get("result")  # a refused call is not retried

    async def poll(self) -> None:
        await self.call("getMe")
        offset = 0
        while True:
            for update in await self.call("getUpdates", offset=offset, timeout=10):
                offset = update["update_id"] + 1
                message = update.get("message") or {}
                if message.get("text") and message["chat"]["type"] == "private":
                    task = asyncio.create_task(self.in_turn(message["chat"]["id"], message["text"]))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)

    async def in_turn(self, chat_id: int, text: str) -> None:
        async with self.locks.setdefault(chat_id, asyncio.Lock()):
            await self.answer(chat_id, text)

    async def answer(self, chat_id: int, text: str) -> None:
        typing = asyncio.create_task(self.call("sendChatAction", chat_id=chat_id, action="typing"))
        body = {
            "model": self.model,
            "stream": True,
            "messages": [{"role": "user", "content": text}],
        }
        parts: list[str] = []
        draft: asyncio.Task[Any] | None = None
        async with self.http.post(self.model_url, json=body, headers=self.auth) as response:
            async for line in response.content:
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                for choice in json.loads(line[6:]).get("choices") or ():
                    parts.append((choice.get("delta") or {}).get("content") or "")
                now = time.monotonic()
                since = now - self.last_update.get(chat_id, 0.0)
                if since >= DRAFT_INTERVAL_S and (draft is None or draft.done()):
                    shown = "".join(parts)
                    if shown:
                        self.last_update[chat_id] = now
                        draft = asyncio.create_task(
                            self.call("sendMessageDraft", chat_id=chat_id, draft_id=1, text=shown)
                        )
        if draft is not None:
            await draft
        await typing
        self.last_update[chat_id] = time.monotonic()
        await self.call("sendMessage", chat_id=chat_id, text="".join(parts))


async def main() -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with aiohttp.ClientSession() as http:
        polling = asyncio.create_task(Floor(http).poll())
        await asyncio.wait(
            [polling, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED"
        )
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling


if __name__ == "__main__":
    asyncio.run(main())
