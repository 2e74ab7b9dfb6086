"""PostgreSQL and Redis for tests: found on 127.0.0.1, or the test is skipped (or fails in CI).

`make test` runs the PostgreSQL/Redis tests when the servers answer and skips them when they
do not, so a laptop without them still passes; the session ends with one line saying what was
skipped and why. `REQUIRE_SERVICES=1` (set by .ci/run) turns that skip into a failure, so CI
cannot pass without the servers. Each test gets a schema of its own (or a Redis key prefix of
its own) and drops it afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from bot.storage.postgres import PostgresDatabase

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRED = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false")

skipped: dict[str, str] = {}  # service -> why, for the one line at the end of the session


@cache
def _unreachable(url: str) -> str | None:
    """Why the server of `url` cannot be reached (None: it answers a TCP connection)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or exc})"


def require(service: str, url: str) -> None:
    """Skip the test (fail it under REQUIRE_SERVICES=1) unless `url`'s server answers."""
    why = _unreachable(url)
    if why is None:
        return
    if REQUIRED:
        pytest.fail(f"{service} is required (REQUIRE_SERVICES=1) but {why}", pytrace=False)
    skipped[service] = why
    pytest.skip(f"{service}: {why}")


def summary_line() -> str | None:
    """The one line that says which service tests were skipped and why (None: none were)."""
    if not skipped:
        return None
    said = "; ".join(f"{name}: {why}" for name, why in sorted(skipped.items()))
    return f"service tests skipped ({said}); REQUIRE_SERVICES=1 makes this a failure"


@dataclass(frozen=True)
class PostgresSchema:
    """A schema of its own in the test database: `url` selects it for the bot and asyncpg."""

    name: str
    url: str


def schema_url(name: str) -> str:
    """POSTGRES_URL with `name` first on the search path (asyncpg passes the unknown query
    parameter on as a server setting)."""
    joiner = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{joiner}search_path={name}"


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[PostgresSchema]:
    """A fresh, empty schema, dropped with everything in it afterwards."""
    import asyncpg  # only the PostgreSQL tests need it

    require("PostgreSQL", POSTGRES_URL)
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        yield PostgresSchema(name, schema_url(name))
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[PostgresDatabase]:
    """A PostgreSQL database at the newest version, in a schema of its own (dropped after)."""
    from bot.storage.postgres import PostgresDatabase

    async with postgres_schema() as schema:
        opened = PostgresDatabase(schema.url, max_size=4)
        await opened.open()
        try:
            yield opened
        finally:
            await opened.close()


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of its own in the test Redis database; its keys are deleted afterwards."""
    import redis.asyncio as redis  # only the Redis tests need it

    require("Redis", REDIS_URL)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"*{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def postgres_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """The rows a query returns on the database of `url`, as plain tuples."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()
