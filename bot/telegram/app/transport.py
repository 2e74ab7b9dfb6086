"""python-telegram-bot's HTTP transport on aiohttp, with orjson for the answers.

python-telegram-bot makes every Bot API request through a `BaseRequest`; its own is on httpx,
whose pool checks every idle connection before each request and whose request and response
models are pure Python. This one sends exactly the parameters python-telegram-bot hands it over
one aiohttp session, whose HTTP parser is in C: as one JSON body encoded by orjson (the Bot
API's `application/json`, python-telegram-bot's documented way to use another JSON library:
`RequestData.parameters`), and with files as multipart form data, as HTTPXRequest does. The
answers are parsed with orjson too. The protocol (methods, parameters, retries, errors) stays
python-telegram-bot's: this is only the wire under it.

JSON rather than the url-encoded form HTTPXRequest sends: the form costs a JSON encoding per
parameter (the standard library's), then a percent-encoding of every byte of each in Python,
and aiohttp's form object (which draws a random multipart boundary even for a plain form):
~0.1 ms of an answer's few Bot API calls, for the same request.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_DEFAULT: Any = BaseRequest.DEFAULT_NONE


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session with at most `connection_pool_size`
    connections; timeouts as HTTPXRequest's (seconds, None for no limit)."""

    __slots__ = ("_limit", "_session", "_timeouts")

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._limit = connection_pool_size
        self._timeouts = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
            "media_write": media_write_timeout,
        }
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """orjson where the answer is valid UTF-8 JSON; python-telegram-bot's own parser (which
        replaces bad bytes, or raises its error) otherwise."""
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)
        return parsed if isinstance(parsed, dict) else BaseRequest.parse_json_payload(payload)

    async def do_request(  # noqa: PLR0917 - BaseRequest's signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = _DEFAULT,
        write_timeout: ODVInput[float] = _DEFAULT,
        connect_timeout: ODVInput[float] = _DEFAULT,
        pool_timeout: ODVInput[float] = _DEFAULT,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout, files)
        body, headers = _body(request_data, files)
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are asyncio's
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
        pool: ODVInput[float],
        files: dict[str, Any] | None,
    ) -> aiohttp.ClientTimeout:
        """aiohttp has no write timeout: the whole request is bounded by connect (with the
        wait for a pooled connection) + write + read instead."""
        default = self._timeouts
        read_s = default["read"] if isinstance(read, DefaultValue) else read
        connect_s = default["connect"] if isinstance(connect, DefaultValue) else connect
        pool_s = default["pool"] if isinstance(pool, DefaultValue) else pool
        write_default = default["media_write"] if files else default["write"]
        write_s = write_default if isinstance(write, DefaultValue) else write
        parts = (read_s, connect_s, pool_s, write_s)
        total = None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]
        acquire = None if pool_s is None or connect_s is None else pool_s + connect_s
        return aiohttp.ClientTimeout(
            total=total, connect=acquire, sock_connect=connect_s, sock_read=read_s
        )


_HEADERS = {"User-Agent": BaseRequest.USER_AGENT}
_JSON_HEADERS = {**_HEADERS, "Content-Type": "application/json"}


def _body(
    request_data: RequestData | None, files: dict[str, Any] | None
) -> tuple[Any, dict[str, str]]:
    """The request's body and headers: the parameters as one JSON object; with files,
    multipart/form-data of the parameters as python-telegram-bot encodes them (each a string)
    and the files."""
    if request_data is None:
        return None, _HEADERS
    if not files:
        parameters = request_data.parameters
        return (orjson.dumps(parameters), _JSON_HEADERS) if parameters else (None, _HEADERS)
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, upload in files.items():
        filename, content, *rest = upload if isinstance(upload, tuple) else (name, upload)
        content_type = rest[0] if rest else "application/octet-stream"
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form, _HEADERS
