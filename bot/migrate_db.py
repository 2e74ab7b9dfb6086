"""`python -m bot migrate-db --from sqlite:///data/bot.db --to postgresql://...`: copy the
SQLite release's database into PostgreSQL, then check that every table's rows were copied.

Safe to run again: rows already copied are updated in place, none is doubled; an interrupted
run finishes on the next. Stop the bot first (the SQLite file's lock says so if not).
Exit codes: 0 copied and verified, 1 the copy failed or the counts differ, 2 bad arguments.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.config import redact_url
from bot.config.service import POSTGRES_SCHEMES
from bot.storage.errors import StorageError, StoreInUse
from bot.storage.transfer import Progress, TableCount, copy_database

EXIT_FAILED = 1
EXIT_USAGE = 2


def main(source: str, target: str, out: TextIO = sys.stdout) -> int:
    """Copy `source` (sqlite:///file) into `target` (postgresql://...) and report."""
    if not source.startswith("sqlite:///") or not target.startswith(POSTGRES_SCHEMES):
        print("migrate-db copies --from sqlite:///file --to postgresql://...", file=sys.stderr)
        return EXIT_USAGE
    path = Path(source.removeprefix("sqlite:///"))
    if not path.is_file():
        print(f"migrate-db: there is no database file {path}", file=sys.stderr)
        return EXIT_USAGE
    shown = redact_url(target)
    print(f"Copying {path} into {shown}", file=out)
    try:
        counts = asyncio.run(copy_database(path, target, progress=_progress(out)))
    except StoreInUse as exc:
        print(f"migrate-db: {exc}: stop the bot first", file=sys.stderr)
        return EXIT_FAILED
    except StorageError as exc:
        print(f"migrate-db: the copy stopped ({exc}); run it again to finish", file=sys.stderr)
        return EXIT_FAILED
    return _report(counts, out)


def _progress(out: TextIO) -> Progress:
    def progress(table: str, done: int) -> None:
        if done % 10_000 == 0:
            print(f"  {table}: {done} rows", file=out)

    return progress


def _report(counts: list[TableCount], out: TextIO) -> int:
    for count in counts:
        verdict = "ok" if count.matches else "MISMATCH"
        print(
            f"  {count.table}: {count.source} in SQLite, {count.target} in PostgreSQL {verdict}",
            file=out,
        )
    if all(c.matches for c in counts):
        print("Verified: every table has the same number of rows on both sides.", file=out)
        return 0
    print(
        "The counts differ: the PostgreSQL database held other rows before, or the bot wrote "
        "to SQLite meanwhile. Use an empty PostgreSQL database with the bot stopped.",
        file=out,
    )
    return EXIT_FAILED
