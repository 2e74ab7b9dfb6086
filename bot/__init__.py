"""telegram-llm-bot: chat with any OpenAI-compatible model from Telegram."""

import os
import sys

# Opt in to python-telegram-bot's next-major behaviour (durations as timedelta) now: the old
# int form emits a deprecation warning on every flood-control error.
os.environ.setdefault("PTB_TIMEDELTA", "1")


def _import_without(hidden: tuple[str, ...], *libraries: str) -> None:
    """Import `libraries` with the `hidden` modules made unimportable (they take them for not
    installed), then make those importable again."""
    absent = [name for name in hidden if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        for library in libraries:
            __import__(library)
    finally:
        for name in absent:
            del sys.modules[name]


# structlog imports rich, whenever it is installed (the `terminal` extra), for the tracebacks of
# its colour console renderer, and httpx imports rich and click for its command-line client:
# ~5 MB and ~0.2 s at every start for nothing the bot shows (our console log format has no
# colours). So both are first imported with those hidden; the terminal imports rich itself,
# later, unaffected (docs/performance.md).
_import_without(("rich", "click"), "structlog", "httpx")
