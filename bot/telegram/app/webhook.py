"""The webhook's HTTP server: aiohttp's low-level server (aiohttp is already the bot's HTTP
client) with our handler, imported only in webhook mode.

python-telegram-bot's `Updater.start_webhook` builds its (tornado) server itself, with no way
to pass server settings: it reads a request's whole body before it compares the secret, with
`!=`. This server decides from the headers alone, before any of the body is read:

- a missing or wrong `X-Telegram-Bot-Api-Secret-Token` -> 403 (compared in constant time);
- a `Content-Length` over MAX_BODY_BYTES -> 413;

and the connection is closed rather than the body read. (A `Content-Length` that is not a
number never reaches this handler: aiohttp's HTTP parser answers 400 and closes the connection
itself, and logs it on `aiohttp.server`.) A chunked body (no Content-Length) is
cut off at the same size (413), and one trickled in for longer than BODY_TIMEOUT_S is cut off
too (408). Only then is the body (at most MAX_BODY_BYTES) parsed: one that is not an update in
JSON -> 400. Each refusal is logged once as `webhook_refused`, never with the body (what
people wrote) or the header sent; there is no access log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from http import HTTPStatus
from typing import Protocol

from aiohttp import web
from aiohttp.http import HttpProcessingError
from telegram import Bot, Update

from bot.observability.logs import get_logger

log = get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Telegram's updates are a few KB; 1 MB leaves room to spare
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
IDLE_TIMEOUT_S = 75.0  # a keep-alive connection Telegram does not use is closed after this
BODY_TIMEOUT_S = 30.0  # a body trickled in more slowly than this is cut off
SHUTDOWN_TIMEOUT_S = 5.0  # at stop(), an update being put on the queue gets this long


class UpdateSink(Protocol):
    """Where a received update goes: the application's queue (or one that records first)."""

    async def put(self, item: object) -> None: ...


class _Refused(Exception):
    """A request turned away: answered with `status` (and logged once with `reason`)."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class UpdateHandler:
    """POST <path>: one update from Telegram, put on the application's queue; 200 at once."""

    def __init__(self, bot: Bot, queue: UpdateSink, path: str, secret: bytes) -> None:
        self._bot, self._queue, self._secret = bot, queue, secret
        base = path.rstrip("/")
        self._paths = {base, f"{base}/"} - {""}  # with or without the trailing slash

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.rel_url.raw_path not in self._paths:
            raise web.HTTPNotFound
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        try:
            self._check_headers(request)
            body = await _read_body(request)
            update = self._parse(body)
        except _Refused as refused:
            log.info("webhook_refused", status=int(refused.status), reason=refused.reason)
            response = web.Response(status=refused.status)
            # Answered before the body is read (or all of it): the connection is closed after
            # the answer instead of the rest of the body being read.
            response.force_close()
            return response
        except OSError:  # the client went away while sending the body: nobody to answer
            response = web.Response(status=HTTPStatus.BAD_REQUEST)
            response.force_close()
            return response
        try:
            await self._queue.put(update)
        except Exception:  # noqa: BLE001 - the sink logs why (inbox_record_failed)
            # Not taken (the database refused it): a 500, so Telegram sends it again later.
            return web.Response(status=HTTPStatus.INTERNAL_SERVER_ERROR)
        return web.Response(body=b"{}", content_type="application/json")

    def _check_headers(self, request: web.BaseRequest) -> None:
        """Refuse on the headers alone: the body has not been read yet."""
        sent = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(sent, self._secret):
            raise _Refused(HTTPStatus.FORBIDDEN, "secret")
        length = request.headers.get("Content-Length")
        # Not a number: aiohttp's parser refuses it before this; checked anyway, as a guard.
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")

    def _parse(self, body: bytes) -> Update:
        try:
            data = json.loads(body)
        except ValueError:  # not JSON, or not UTF-8
            raise _Refused(HTTPStatus.BAD_REQUEST, "malformed") from None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise _Refused(HTTPStatus.BAD_REQUEST, "malformed")
        try:
            return Update.de_json(data, self._bot)
        except Exception:  # noqa: BLE001 - whatever the library raises on a bad shape: a 400
            raise _Refused(HTTPStatus.BAD_REQUEST, "malformed") from None


async def _read_body(request: web.BaseRequest) -> bytes:
    """The body, at most MAX_BODY_BYTES, within BODY_TIMEOUT_S (aiohttp holds back at most
    its read buffer meanwhile: it stops reading from the socket when that is full)."""
    if request.headers.get("Expect", "").lower() == "100-continue":
        # What aiohttp's router does for a route (and tornado did): the client waits for this
        # before it sends the body, so it is sent only once the headers are accepted.
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            while chunk := await request.content.readany():
                body += chunk
                if len(body) > MAX_BODY_BYTES:  # chunked: no Content-Length to refuse on
                    raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
    except TimeoutError:
        raise _Refused(HTTPStatus.REQUEST_TIMEOUT, "timeout") from None
    except HttpProcessingError:  # a broken chunked encoding, say
        raise _Refused(HTTPStatus.BAD_REQUEST, "malformed") from None
    return bytes(body)


class WebhookServer:
    """Listens on `listen`:`port` for Telegram's POSTs to `path` (nothing else is served)."""

    def __init__(self, bot: Bot, queue: UpdateSink, path: str, secret: str) -> None:
        self._handler = UpdateHandler(bot, queue, path, secret.encode())
        self._runner: web.ServerRunner | None = None
        self.running = False

    async def start(self, listen: str, port: int) -> None:
        """Start accepting connections; raises OSError when the port is taken."""
        server = web.Server(
            self._handler,
            access_log=None,  # one line per update would drown the logs; refusals are logged
            keepalive_timeout=IDLE_TIMEOUT_S,
            lingering_time=0,  # an unread body is never read to the end: the connection closes
        )
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, listen, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.running = True

    async def stop(self) -> None:
        """Stop accepting and close the open connections."""
        self.running = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
