"""The webhook's HTTP server: tornado (python-telegram-bot's webhook dependency) with our handler.

python-telegram-bot's `Updater.start_webhook` builds its tornado application itself, with no way
to pass server settings: it reads a request's whole body (tornado's default limit is 100 MB)
before it compares the secret, with `!=`. This server decides from the headers alone, before
any of the body is read:

- a missing or wrong `X-Telegram-Bot-Api-Secret-Token` -> 403 (compared in constant time);
- a `Content-Length` over MAX_BODY_BYTES -> 413;

and the connection is closed rather than the body read. A chunked body is cut off by tornado's
`max_body_size` at the same size. Only then is the body (at most MAX_BODY_BYTES) parsed: one
that is not an update in JSON -> 400. Each refusal is logged as `webhook_refused`, never with
the body (what people wrote) or the header sent.
"""

from __future__ import annotations

import hmac
import json
from http import HTTPStatus
from typing import Any, Protocol

import tornado.web
from telegram import Bot, Update
from tornado.httpserver import HTTPServer

from bot.observability.logs import get_logger

log = get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Telegram's updates are a few KB; 1 MB leaves room to spare
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
IDLE_TIMEOUT_S = 75.0  # a keep-alive connection Telegram does not use is closed after this
BODY_TIMEOUT_S = 30.0  # a body trickled in more slowly than this is cut off


class UpdateSink(Protocol):
    """Where a received update goes: the application's queue (or one that records first)."""

    async def put(self, item: object) -> None: ...


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST <path>: one update from Telegram, put on the application's queue; 200 at once."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot: Bot, queue: UpdateSink, secret: bytes) -> None:
        self._bot, self._queue, self._secret = bot, queue, secret
        self._body = bytearray()

    def prepare(self) -> None:
        """Refuse on the headers alone: the body has not been read yet."""
        sent = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(sent, self._secret):
            self._refuse(HTTPStatus.FORBIDDEN, "secret")
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")

    def data_received(self, chunk: bytes) -> None:
        # Bounded: tornado stops at max_body_size (MAX_BODY_BYTES) and closes the connection.
        self._body += chunk

    async def post(self) -> None:
        update = self._parse()
        if update is None:
            self._refuse(HTTPStatus.BAD_REQUEST, "malformed")
        await self._queue.put(update)
        self.set_header("Content-Type", "application/json")
        self.finish(b"{}")

    def _parse(self) -> Update | None:
        try:
            data = json.loads(self._body)
        except ValueError:  # not JSON, or not UTF-8
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        try:
            return Update.de_json(data, self._bot)
        except Exception:  # noqa: BLE001 - whatever the library raises on a bad shape: a 400
            return None

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        log.info("webhook_refused", status=int(status), reason=reason)
        # Finishing before the body is read makes tornado close the connection after the
        # answer instead of reading the rest (http1connection: "the only way to avoid reading
        # the whole input body").
        raise tornado.web.HTTPError(int(status))

    def write_error(self, status_code: int, **_kwargs: Any) -> None:
        self.finish(b"")

    def log_exception(self, *_args: Any) -> None:
        """Refusals are logged by `_refuse`; tornado's own lines would repeat them."""


class WebhookServer:
    """Listens on `listen`:`port` for Telegram's POSTs to `path` (nothing else is served)."""

    def __init__(self, bot: Bot, queue: UpdateSink, path: str, secret: str) -> None:
        route = rf"{path.rstrip('/')}/?"
        handler_args = {"bot": bot, "queue": queue, "secret": secret.encode()}
        application = tornado.web.Application(
            [(route, UpdateHandler, handler_args)], log_function=lambda _handler: None
        )
        self._server = HTTPServer(
            application,
            max_body_size=MAX_BODY_BYTES,
            idle_connection_timeout=IDLE_TIMEOUT_S,
            body_timeout=BODY_TIMEOUT_S,
        )
        self.running = False

    def listen(self, listen: str, port: int) -> None:
        """Start accepting connections; raises OSError when the port is taken."""
        self._server.listen(port, address=listen)
        self.running = True

    async def stop(self) -> None:
        """Stop accepting and close the open connections."""
        self.running = False
        self._server.stop()
        await self._server.close_all_connections()
