"""Private files: what the bot writes to disk is readable by its own user only.

The database and its -wal/-shm files, the terminal's log and input history hold what people
wrote; they are created 0600 in a folder created 0700, whatever the process's umask. SQLite
gives the -wal and -shm files it creates later the mode of the database file, so a database
file that is 0600 keeps them so.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created in the block are for the owner only (umask 077).

    The umask is process-wide: the block must not await (other tasks would inherit it).
    """
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def private_dir(path: Path) -> None:
    """Create the folder (and its parents) 0700 if missing; an existing one is left as it is
    (it may be the working directory or a mounted volume the operator chose)."""
    with private_umask():
        path.mkdir(parents=True, exist_ok=True)


def make_private(*paths: Path) -> None:
    """Make those of `paths` that exist 0600 (files made by an earlier version stay private
    from now on)."""
    for path in paths:
        try:
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(PRIVATE_FILE)
        except FileNotFoundError:
            continue


def open_private(path: Path, mode: str = "a") -> int:
    """A file descriptor on `path` opened for appending/reading, created 0600 if missing."""
    flags = os.O_RDWR | os.O_CREAT | (os.O_APPEND if mode == "a" else 0)
    private_dir(path.parent)
    fd = os.open(path, flags, PRIVATE_FILE)
    make_private(path)
    return fd


def readable_by_others(path: Path) -> int | None:
    """The permission bits of `path` when its group or others may read it, else None (also
    when it does not exist)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & (stat.S_IRGRP | stat.S_IROTH) else None
