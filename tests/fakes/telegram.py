"""FakeTelegram: a real HTTP Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

python-telegram-bot talks to it with Bot(token, base_url=fake.base_url). Every call is recorded;
texts and entities are checked the way Telegram checks them (see _tg_text); faults, flood
control, blocking and hooks can be scripted per method.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes._server import FakeServer, drop_connection
from tests.fakes._tg_methods import METHODS
from tests.fakes._tg_models import (
    ApiCall,
    ApiError,
    Draft,
    Fault,
    SentMessage,
    UploadedFile,
    default_description,
)
from tests.fakes._tg_params import read_params
from tests.fakes._tg_state import JsonDict
from tests.fakes._tg_updates import UpdateBuilders
from tests.fakes.telegram_files import FileStore, serve_file

__all__ = ["ApiCall", "ApiError", "Draft", "FakeTelegram", "SentMessage", "UploadedFile"]

DEFAULT_TOKEN = "123456:TEST-TOKEN-abcdef"
Hook = Callable[[ApiCall], Awaitable[None]]
_CANONICAL = {name.lower(): name for name in [*METHODS, "getUpdates"]}


class _Drop(Exception):
    """Close the connection without answering."""


class FakeTelegram(FakeServer, UpdateBuilders):
    """A fake Bot API server; `async with FakeTelegram() as tg:` or start()/stop()."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_id: int = 123456,
        username: str = "test_llm_bot",
        first_name: str = "Test Bot",
        long_poll_cap: float = 1.0,
    ) -> None:
        FakeServer.__init__(self)
        UpdateBuilders.__init__(self, bot_id, username, first_name)
        self.token = token
        self.long_poll_cap = long_poll_cap  # the real wait of getUpdates is at most this long
        self.calls: list[ApiCall] = []
        self.flood_errors: list[ApiCall] = []
        self.handed_out_at: dict[int, float] = {}  # update_id: first getUpdates that returned it
        self._faults: list[Fault] = []
        self._blocks: dict[str, asyncio.Event] = {}
        self._hooks: dict[str, list[Hook]] = {}
        self._flood_interval: float | None = None
        self._flood_methods: frozenset[str] = frozenset()
        self._flood_last: dict[str, float] = {}
        self._poll_generation = 0
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.files = FileStore()  # what users send: getFile and the file URL (telegram_files)
        self.app.router.add_get("/file/bot{token}/{path:.*}", self._serve_file)

    @property
    def base_url(self) -> str:
        """What to pass as Bot(base_url=...): PTB appends the token."""
        return f"{self.origin}/bot"

    # -- recorded calls -------------------------------------------------------------------

    def calls_of(self, method: str, chat_id: int | str | None = None) -> list[ApiCall]:
        """Recorded calls of a method, optionally only those for one chat."""
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or str(c.chat_id) == str(chat_id))
        ]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        since: int = 0,
    ) -> ApiCall:
        """The first call of method at index >= since matching predicate; waits up to timeout."""

        def find() -> ApiCall | None:
            for call in self.calls[since:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        await self._wait_until(lambda: find() is not None, timeout)
        found = find()
        if found is None:
            seen = [c.method for c in self.calls[since:]]
            raise TimeoutError(f"no matching {method} call within {timeout}s; calls seen: {seen}")
        return found

    # -- scripting --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        drop_connection: bool = False,
    ) -> None:
        """Answer the next `times` matching calls with an error (or a dropped connection)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or default_description(status, retry_after)
        self._faults.append(
            Fault(method, status, text, retry_after, times, chat_id, drop_connection)
        )

    def flood_limit(
        self,
        min_interval_s: float | None,
        methods: Iterable[str] = ("editMessageText", "sendMessageDraft"),
    ) -> None:
        """429 when one chat gets two calls of these methods closer than min_interval_s."""
        self._flood_interval = min_interval_s
        self._flood_methods = frozenset(methods)
        self._flood_last.clear()

    def block_method(self, method: str) -> asyncio.Event:
        """Calls of method wait (after being recorded) until the returned asyncio.Event is set."""
        event = asyncio.Event()
        self._blocks[method] = event
        return event

    def unblock_method(self, method: str) -> None:
        """Release and forget the block on method."""
        event = self._blocks.pop(method, None)
        if event is not None:
            event.set()

    def on_call(self, method: str, callback: Hook) -> None:
        """Run `await callback(call)` for each call of method; raising ApiError answers with it."""
        self._hooks.setdefault(method, []).append(callback)

    # -- webhook ----------------------------------------------------------------------------

    async def deliver_webhook(self, update: JsonDict, secret: str | None = None) -> int:
        """POST an update (update_id assigned if missing) to the webhook URL; return the status."""
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        if "update_id" not in update:
            self.register_update(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, json=update, headers=headers) as response,
        ):
            return response.status

    # -- HTTP -------------------------------------------------------------------------------

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        return await serve_file(self.files, self.token, request)

    def _updates_changed(self) -> None:
        self._notify()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        name = request.match_info["method"]
        try:
            params, files = await read_params(request)
            call = ApiCall(_CANONICAL.get(name.lower(), name), params, time.monotonic(), files)
            call.content_type = request.content_type if request.body_exists else ""
            self.calls.append(call)
            self._notify()
            result = await self._process(call)
        except ApiError as error:
            return error.response()
        except _Drop:
            return drop_connection(request)
        call.answered_at = time.monotonic()
        return web.json_response({"ok": True, "result": result})

    async def _process(self, call: ApiCall) -> Any:
        for hook in self._hooks.get(call.method, []):
            await hook(call)
        block = self._blocks.get(call.method)
        if block is not None and not await self._wait_or_stop(block.wait()):
            raise _Drop
        self._apply_fault(call)
        if call.method == "getUpdates":
            return await self._get_updates(call)
        handler = METHODS.get(call.method)
        if handler is None or (call.method == "sendMessageDraft" and not self.drafts_supported):
            raise ApiError(404, "Not Found")
        self._check_flood(call)
        return handler(self, call)

    def _apply_fault(self, call: ApiCall) -> None:
        fault = next((f for f in self._faults if f.matches(call)), None)
        if fault is None:
            return
        fault.times -= 1
        if fault.times <= 0:
            self._faults.remove(fault)
        if fault.drop_connection:
            raise _Drop
        raise ApiError(fault.status, fault.description, fault.retry_after)

    def _check_flood(self, call: ApiCall) -> None:
        if self._flood_interval is None or call.method not in self._flood_methods:
            return
        key, now = str(call.chat_id), call.at
        last = self._flood_last.get(key)
        if last is not None and now - last < self._flood_interval:
            retry_after = max(1, math.ceil(self._flood_interval - (now - last)))
            self.flood_errors.append(call)
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._flood_last[key] = now

    async def _get_updates(self, call: ApiCall) -> list[JsonDict]:
        """getUpdates: offset confirms, limit caps, timeout long-polls (capped by long_poll_cap)."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = call.params
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = params["allowed_updates"]
        self.confirm_updates(int(params.get("offset") or 0))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting is terminated with 409
        superseded = lambda: generation != self._poll_generation  # noqa: E731
        await self._wait_until(lambda: bool(self.pending_updates()) or superseded(), wait)
        if superseded():
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        handed_out, now = self.pending_updates()[:limit], time.monotonic()
        for update in handed_out:
            self.handed_out_at.setdefault(int(update["update_id"]), now)
        return handed_out
