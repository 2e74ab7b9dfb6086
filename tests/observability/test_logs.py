"""The log pipeline: the bot's own lines go straight from structlog to the stream, the
libraries' through the standard library, both rendered, redacted and filtered the same way."""

from __future__ import annotations

import io
import json
import logging
import threading

from bot.observability.logs import configure_logging, get_logger

SECRET = "123456:very-secret-token"


def _refuse() -> None:
    raise RuntimeError(f"refused {SECRET}")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestOwnLines:
    def test_same_shape_as_a_library_line(self) -> None:
        """One JSON object per line, with event, level, logger and timestamp, either way."""
        stream = io.StringIO()
        configure_logging(level="INFO", stream=stream)
        get_logger("bot.test.shape").info("answer_sent", chat_id=7)
        logging.getLogger("some.library").warning("pool full")
        ours, theirs = _lines(stream)
        assert ours["event"] == "answer_sent" and ours["chat_id"] == 7
        assert theirs["event"] == "pool full"
        for line, level, name in (
            (ours, "info", "bot.test.shape"),
            (theirs, "warning", "some.library"),
        ):
            assert line["level"] == level and line["logger"] == name
            assert str(line["timestamp"]).endswith("Z")

    def test_a_logger_used_before_follows_a_new_configuration(self) -> None:
        """structlog caches a logger on first use; a later configure_logging (another stream,
        level or secret) still applies to it."""
        log = get_logger("bot.test.cached")
        first, second = io.StringIO(), io.StringIO()
        configure_logging(level="INFO", stream=first)
        log.info("one")
        log.debug("hidden at info")
        configure_logging(level="DEBUG", stream=second, secrets=[SECRET])
        log.debug("two", url=f"https://api/bot{SECRET}/getMe")
        assert [line["event"] for line in _lines(first)] == ["one"]
        (line,) = _lines(second)
        assert line["event"] == "two" and line["url"] == "https://api/bot[REDACTED]/getMe"

    def test_level_filters_before_rendering(self) -> None:
        """Below LOG_LEVEL a line is dropped, its values never rendered."""
        stream = io.StringIO()
        configure_logging(level="WARNING", stream=stream)

        class Loud:
            def __repr__(self) -> str:
                raise AssertionError("rendered a dropped line")

        get_logger("bot.test.level").info("quiet", value=Loud())
        get_logger("bot.test.level").warning("heard")
        assert [line["event"] for line in _lines(stream)] == ["heard"]

    def test_exception_is_rendered_and_redacted(self) -> None:
        stream = io.StringIO()
        configure_logging(level="INFO", stream=stream, secrets=[SECRET])
        try:
            _refuse()
        except RuntimeError:
            get_logger("bot.test.exc").exception("handler_error")
        (line,) = _lines(stream)
        assert "RuntimeError: refused [REDACTED]" in str(line["exception"])
        assert SECRET not in stream.getvalue()

    def test_lines_from_threads_never_interleave(self) -> None:
        """The bot's lines and a library's, written from several threads at once: every line
        is whole."""
        stream = io.StringIO()
        configure_logging(level="INFO", stream=stream)

        def write(n: int) -> None:
            for i in range(200):
                get_logger("bot.test.threads").info("ours", n=n, i=i, pad="x" * 300)
                logging.getLogger("lib.threads").info("theirs %d %d %s", n, i, "y" * 300)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lines = _lines(stream)
        assert len(lines) == 4 * 200 * 2
        assert sum(line["event"] == "ours" for line in lines) == 800
