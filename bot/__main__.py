"""`python -m bot [run | check | chat [--chat NAME] | migrate-db --from URL --to URL]`: load
settings, set up logging, run.

Wiring only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from bot.config import ConfigError
from bot.observability.logs import configure_logging, get_logger
from bot.startup import load_checked_settings

EXIT_CONFIG = 2
EXIT_NOT_INSTALLED = 1
TERMINAL_MODULES = frozenset({"rich", "prompt_toolkit"})  # the `terminal` extra
NO_TERMINAL = (
    "The terminal chat needs the `terminal` extra: pip install -e '.[terminal]' (or make chat)."
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run", choices=["run", "check", "chat", "migrate-db"]
    )
    parser.add_argument(
        "--chat",
        default="default",
        metavar="NAME",
        type=_chat_name,
        help="chat: which terminal chat to open or resume (default: %(default)s)",
    )
    parser.add_argument("--from", dest="source", metavar="URL", help="migrate-db: sqlite:///file")
    parser.add_argument("--to", dest="target", metavar="URL", help="migrate-db: postgresql://...")
    return parser.parse_args(argv)


def _chat_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise argparse.ArgumentTypeError("a chat needs a name")
    return name


def _chat(name: str) -> int:
    """The terminal chat: no Telegram token needed; without the `terminal` extra, one line
    naming the fix."""
    try:
        from bot.terminal.app import main as chat_main  # noqa: PLC0415 - only this command
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in TERMINAL_MODULES:
            raise
        print(NO_TERMINAL, file=sys.stderr)
        return EXIT_NOT_INSTALLED
    return chat_main(load_checked_settings(require_telegram=False), name)


async def _run_until_signalled() -> int:
    from bot.telegram.app.run import StartupError, serve  # noqa: PLC0415 - not for chat or check

    settings = load_checked_settings(require_telegram=True)
    service = settings.service
    configure_logging(
        level=service.log_level,
        fmt=service.log_format,
        secrets=settings.secrets(),
        replica_id=settings.database.replica_id if service.on_postgres else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(settings, stop)
    except StartupError as exc:
        get_logger(__name__).error("startup_failed", reason=str(exc))
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_event_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run the bot on uvloop where it is installed (a main dependency on Linux and macOS): the
    same asyncio API, with the loop, its sockets and its timers in C, which takes a share off
    every request and task switch; the standard loop elsewhere."""
    try:
        import uvloop  # noqa: PLC0415 - optional: not on Windows or PyPy
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # Each command imports only what it runs: `check` and `migrate-db` need no Telegram
    # application, the Telegram bot no terminal (and not its `terminal` extra).
    if args.command == "check":
        from bot import check  # noqa: PLC0415

        return check.main()
    if args.command == "migrate-db":
        from bot import migrate_db  # noqa: PLC0415

        return migrate_db.main(args.source or "", args.target or "")
    try:
        if args.command == "chat":
            return _chat(args.chat)
        return _run_event_loop(_run_until_signalled())
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See .env.example for every setting.", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
