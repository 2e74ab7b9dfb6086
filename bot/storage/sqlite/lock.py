"""One process per SQLite database: an exclusive lock on `<database>.lock`, held while open.

Two bots on one database would both sweep and answer the same pending turns (duplicates,
double cost). The lock is `flock` on a file beside the database, so the kernel releases it
when the process ends in any way, kill -9 included: a stale lock file never blocks a restart.
The file holds the holder's process id, for the refusal message. A server database
(PostgreSQL) would need leases instead; this is why the lock sits with the SQLite backend.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.storage.errors import StoreInUse
from bot.storage.files import open_private


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class ProcessLock:
    """The exclusive claim of this process on one database file."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock at once, or raise StoreInUse naming the holder's pid."""
        fd = open_private(self.path, mode="w")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StoreInUse(str(self.database), holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let another process open the database (the file stays: removing it would race)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
