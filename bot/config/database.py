"""Past one process: the PostgreSQL pool, Redis, and this replica's name.

DATABASE_URL itself stays in the service section (sqlite:///file, the default, or
postgresql://...); what is here matters only when several processes share the database.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.values import BlankIsUnset, Section


def default_replica_id() -> str:
    """The host's name and this process's id: unique among replicas, readable in logs."""
    return f"{socket.gethostname()}-{os.getpid()}"


class DatabaseSettings(Section):
    """DATABASE_POOL_SIZE, REDIS_URL, REDIS_KEY_PREFIX, REPLICA_ID, LEASE_SECONDS."""

    database_pool_size: int = Field(default=10, ge=1, le=100)  # PostgreSQL connections
    # Shared rate-limit windows and "told once" notices; unset: per process (a warning).
    redis_url: Annotated[str | None, BlankIsUnset] = None
    # Every key the bot writes in Redis starts with this (several bots may share one Redis).
    redis_key_prefix: str = Field(default="tlb", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    replica_id: str = Field(default_factory=default_replica_id, min_length=1, max_length=64)
    # A conversation is worked on by one replica at a time, the holder of its lease; a
    # replica that dies is replaced on its conversations this long after its last renewal.
    lease_seconds: float = Field(default=30.0, ge=2.0, le=3600.0)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must look like redis://host:6379/0")
        return value
