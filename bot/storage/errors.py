"""The one error storage raises, whatever the backend."""

from __future__ import annotations


class StorageError(Exception):
    """The database refused an operation (locked, read-only, full, failing disk).

    Raised instead of the driver's own errors, so that callers need not know the backend.
    The bot keeps running: the next operation tries again.
    """


class StoreInUse(Exception):
    """Another process holds the database: two bots on one database would both answer the same
    pending turns. `holder` is that process's id when known."""

    def __init__(self, where: str, holder: int | None) -> None:
        who = f"process {holder}" if holder is not None else "another process"
        super().__init__(f"{where} is in use by {who}")
        self.where = where
        self.holder = holder
