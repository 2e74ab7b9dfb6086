"""The usage tables on PostgreSQL: one row per model request, and the totals kept alongside
(see bot/storage/sqlite/usage.py for why the per-day totals exist)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import Usage, UsageRow, UsageTotals

if TYPE_CHECKING:
    import asyncpg

DAY_S = 86_400

_ADD_REQUEST = (
    "INSERT INTO usage (chat_id, user_id, turn_id, model, prompt_tokens, completion_tokens,"
    " cost_usd, estimated, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
_ADD_TO_CHAT = """
    INSERT INTO chats AS c (chat_id, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES ($1, 1, $2, $3, $4)
    ON CONFLICT (chat_id) DO UPDATE SET
        requests = c.requests + 1,
        prompt_tokens = c.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = c.completion_tokens + excluded.completion_tokens,
        cost_usd = c.cost_usd + excluded.cost_usd
"""
_ADD_TO_DAY = """
    INSERT INTO usage_days AS d (day, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES ($1, 1, $2, $3, $4)
    ON CONFLICT (day) DO UPDATE SET
        requests = d.requests + 1,
        prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = d.completion_tokens + excluded.completion_tokens,
        cost_usd = d.cost_usd + excluded.cost_usd
"""
_ADD_TO_USER_DAY = """
    INSERT INTO usage_user_days AS d
        (user_id, day, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES ($1, $2, 1, $3, $4, $5)
    ON CONFLICT (user_id, day) DO UPDATE SET
        requests = d.requests + 1,
        prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = d.completion_tokens + excluded.completion_tokens,
        cost_usd = d.cost_usd + excluded.cost_usd
"""
# SUM over BIGINT is NUMERIC in PostgreSQL (a Decimal): cast back to what SQLite returns.
_FIGURES = (
    "COALESCE(SUM(n), 0)::BIGINT, COALESCE(SUM(p), 0)::BIGINT, COALESCE(SUM(c), 0)::BIGINT,"
    " COALESCE(SUM(usd), 0)::DOUBLE PRECISION"
)
_TOTALS = f"""
    SELECT {_FIGURES}
    FROM (
        SELECT requests AS n, prompt_tokens AS p, completion_tokens AS c, cost_usd AS usd
        FROM usage_days WHERE day >= $1
        UNION ALL
        SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
        FROM usage WHERE at >= $2 AND at < $1
    ) AS parts
"""
_USER_TOTALS = f"""
    SELECT {_FIGURES}
    FROM (
        SELECT requests AS n, prompt_tokens AS p, completion_tokens AS c, cost_usd AS usd
        FROM usage_user_days WHERE user_id = $3 AND day >= $1
        UNION ALL
        SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
        FROM usage WHERE user_id = $3 AND at >= $2 AND at < $1
    ) AS parts
"""
_SUMS = ", ".join(
    f"SUM(CASE WHEN at >= {bound} THEN {value} ELSE 0 END){cast}"
    for bound in ("$1", "$2", "0")
    for value, cast in (
        ("1", "::BIGINT"),
        ("prompt_tokens", "::BIGINT"),
        ("completion_tokens", "::BIGINT"),
        ("COALESCE(cost_usd, 0)", "::DOUBLE PRECISION"),
    )
)


async def add_usage(
    db: asyncpg.Connection,
    chat_id: str,
    user_id: str | None,
    turn_id: int | None,
    usage: Usage,
    *,
    now: float,
) -> None:
    """Record one request and add it to the totals; run inside the caller's transaction."""
    await db.execute(
        _ADD_REQUEST,
        chat_id,
        user_id,
        turn_id,
        usage.model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cost_usd,
        int(usage.estimated),
        now,
    )
    figures = (usage.prompt_tokens, usage.completion_tokens, usage.cost_usd or 0.0)
    await db.execute(_ADD_TO_CHAT, chat_id, *figures)
    day = int(now // DAY_S) * DAY_S
    await db.execute(_ADD_TO_DAY, day, *figures)
    if user_id is not None:
        await db.execute(_ADD_TO_USER_DAY, user_id, day, *figures)


class PostgresUsage:
    """`UsageRepository` on the usage table and its per-day totals."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def record(
        self, chat_id: str, usage: Usage, *, now: float, user_id: str | None = None
    ) -> None:
        async with self._db.transaction() as db:
            await add_usage(db, chat_id, user_id, None, usage, now=now)

    async def totals(self, *, since: float, user_id: str | None = None) -> UsageTotals:
        day = int(-(-since // DAY_S) * DAY_S)  # the first day's start at or after `since`
        if user_id is None:
            row = await self._db.fetch_one(_TOTALS, day, float(since))
        else:
            row = await self._db.fetch_one(_USER_TOTALS, day, float(since), user_id)
        return UsageTotals(*row) if row else UsageTotals()

    async def by(
        self, column: Literal["user_id", "chat_id"], *, day: float, month: float, limit: int
    ) -> list[UsageRow]:
        assert column in ("user_id", "chat_id")  # the column name is never user input
        rows = await self._db.fetch_all(
            f"SELECT {column}, {_SUMS} FROM usage WHERE {column} IS NOT NULL GROUP BY {column}"
            " ORDER BY SUM(COALESCE(cost_usd, 0)) DESC,"
            " SUM(prompt_tokens + completion_tokens) DESC LIMIT $3",
            float(day),
            float(month),
            limit,
        )
        return [
            UsageRow(
                key=str(row[0]),
                today=UsageTotals(*row[1:5]),
                month=UsageTotals(*row[5:9]),
                all_time=UsageTotals(*row[9:13]),
            )
            for row in rows
        ]
