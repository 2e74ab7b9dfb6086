"""The one error storage raises, whatever the backend."""

from __future__ import annotations


class StorageError(Exception):
    """The database refused an operation (locked, read-only, full, failing disk).

    Raised instead of the driver's own errors, so that callers need not know the backend.
    The bot keeps running: the next operation tries again.
    """
