"""Logging: structlog everywhere, JSON lines by default, secrets redacted from every line.

The bot's own lines go straight from structlog to the output stream: one write per line, with
no `logging.LogRecord`, handler or formatter in between (~11 µs an INFO line instead of ~45).
Third-party libraries log through the standard library; their records pass through the same
processors (so they are JSON too and get the same redaction), to the same stream, under the
same lock. httpx logs every request URL,
and Telegram URLs carry the bot token, so those loggers are turned down as well. At DEBUG,
python-telegram-bot logs every API call with its parameters and every update (what people
wrote): its loggers (and aiohttp's, whose server's debug lines can quote a request) never go
below INFO, so LOG_LEVEL=DEBUG shows our own debug events only. aiohttp's access log (one line
per request) is off in our servers, and its logger stays at WARNING should it be turned on.

The redactor belongs to this set-up and to nothing else: `configure_logging` installs it with
the secrets it is given, and `add_secrets` is the one way to add a secret known only later (a
generated webhook secret, the local model server's key). A secret once added is redacted for
the rest of the process, whichever order set-up and additions happen in.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import orjson
import structlog
from structlog.typing import EventDict, Processor

REDACTED = "[REDACTED]"
_NOISY_LOGGERS = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "openai",
    "telegram.ext.Updater",
    "aiosqlite",
    "aiohttp.access",
)
_TEXT_LOGGERS = ("telegram", "aiohttp")  # their DEBUG lines carry message texts


class SecretRedactor:
    """A processor that replaces every known secret, wherever it appears, in every value."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        variants = {v for s in secrets if len(s) >= 4 for v in (s, quote(s, safe=""))}
        self._secrets = sorted(set(self._secrets) | variants, key=len, reverse=True)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        if isinstance(value, BaseException | bytes):
            return self._clean(str(value) if isinstance(value, BaseException) else repr(value))
        return value

    def __call__(self, _logger: Any, _name: str, event_dict: EventDict) -> EventDict:
        if not self._secrets:
            return event_dict
        return {key: self._clean(value) for key, value in event_dict.items()}


_REDACTOR = SecretRedactor()  # private: changed only through configure_logging and add_secrets


def _drop_color_message(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
    ]


def _orjson_dumps(value: Any, default: Any = None, **_kw: Any) -> str:
    """JSON in C (a few times the standard library's speed for a log line); keys that are not
    strings are written as strings, as the standard library does."""
    return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()


class _Output:
    """Where the bot's own lines go, and from which level. structlog caches each logger on
    first use, processors included, so `configure_logging` changes this object in place."""

    def __init__(self) -> None:
        self.stream: Any = sys.stdout
        self.level = logging.INFO
        self.final: list[Processor] = []
        self.lock: Any = threading.RLock()


_OUTPUT = _Output()


class _Writer:
    """structlog's logger for the bot's own lines: writes each rendered line to the output
    stream and flushes it, as the standard library's handler does for the libraries' lines."""

    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name  # structlog.stdlib.add_logger_name reads it

    def msg(self, line: str) -> None:
        with _OUTPUT.lock:
            _OUTPUT.stream.write(line + "\n")
            _OUTPUT.stream.flush()

    debug = info = warning = error = exception = critical = msg


def _writer(*args: Any) -> _Writer:
    return _Writer(str(args[0]) if args else "")


def _below_level(_logger: Any, method: str, event: EventDict) -> EventDict:
    """Drops a line below LOG_LEVEL before any other work is done for it."""
    if structlog.stdlib.NAME_TO_LEVEL[method] < _OUTPUT.level:
        raise structlog.DropEvent
    return event


def _finish(logger: Any, method: str, event: EventDict) -> Any:
    """The last steps, as configured now: redaction, then JSON (or the console format)."""
    rendered: Any = event
    for processor in _OUTPUT.final:
        rendered = processor(logger, method, rendered)
    return rendered


class _Stamp:
    """A processor that puts one fixed field on every line."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def __call__(self, _logger: Any, _method: str, event: EventDict) -> EventDict:
        event.setdefault(self.name, self.value)
        return event


def _replace_root_handler(handler: logging.Handler, level: str) -> logging.Logger:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return root


def add_secrets(secrets: Iterable[str]) -> None:
    """Redact `secrets` (and their URL-encoded forms) from every line logged from now on."""
    _REDACTOR.add(secrets)


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: Any = None,
    replica_id: str | None = None,
) -> None:
    """Set up structlog and the standard library so that every line is rendered the same way,
    with `secrets` (and those added later by `add_secrets`) redacted from it, and with
    `replica_id` on every line when given (several replicas share one database)."""
    _REDACTOR.add(secrets)
    renderer: Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
    final: list[Processor] = [
        *([_Stamp("replica_id", replica_id)] if replica_id else []),
        structlog.processors.format_exc_info,
        _REDACTOR,
        renderer,
    ]
    structlog.configure(
        processors=[
            _below_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            _finish,
        ],
        logger_factory=_writer,
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = _replace_root_handler(handler, level)
    _OUTPUT.stream, _OUTPUT.level, _OUTPUT.final = handler.stream, root.level, final
    _OUTPUT.lock = handler.lock  # one lock: a library's line and ours never interleave
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _TEXT_LOGGERS:
        logging.getLogger(name).setLevel(max(root.getEffectiveLevel(), logging.INFO))


get_logger = structlog.stdlib.get_logger
