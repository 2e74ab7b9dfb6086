"""The usage tables: one row per model request, and the totals kept alongside.

The chat's counters (chats) are what /stats shows; the per-day totals (usage_days,
usage_user_days, migration 0004) are what budgets read, so that a budget check adds up a few
days instead of every request of the month.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.storage.records import Usage, UsageRow, UsageTotals
from bot.storage.sqlite.database import Database

DAY_S = 86_400  # a UTC day; Unix time has no leap seconds, so days start at multiples of it

_ADD_REQUEST = (
    "INSERT INTO usage (chat_id, user_id, turn_id, model, prompt_tokens, completion_tokens,"
    " cost_usd, estimated, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADD_TO_CHAT = """
    INSERT INTO chats (chat_id, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES (?, 1, ?, ?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET
        requests = requests + 1,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        cost_usd = cost_usd + excluded.cost_usd
"""
_ADD_TO_DAY = """
    INSERT INTO usage_days (day, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES (?, 1, ?, ?, ?)
    ON CONFLICT (day) DO UPDATE SET
        requests = requests + 1,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        cost_usd = cost_usd + excluded.cost_usd
"""
_ADD_TO_USER_DAY = """
    INSERT INTO usage_user_days (user_id, day, requests, prompt_tokens, completion_tokens, cost_usd)
    VALUES (?, ?, 1, ?, ?, ?)
    ON CONFLICT (user_id, day) DO UPDATE SET
        requests = requests + 1,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        cost_usd = cost_usd + excluded.cost_usd
"""
# Whole days from the per-day totals, and the part of a day before the first of them (none
# when `since` is a day's start, as for budgets) from the request rows.
_TOTALS = """
    SELECT COALESCE(SUM(n), 0), COALESCE(SUM(p), 0), COALESCE(SUM(c), 0), COALESCE(SUM(usd), 0)
    FROM (
        SELECT requests AS n, prompt_tokens AS p, completion_tokens AS c, cost_usd AS usd
        FROM usage_days WHERE day >= :day
        UNION ALL
        SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
        FROM usage WHERE at >= :since AND at < :day
    )
"""
_USER_TOTALS = """
    SELECT COALESCE(SUM(n), 0), COALESCE(SUM(p), 0), COALESCE(SUM(c), 0), COALESCE(SUM(usd), 0)
    FROM (
        SELECT requests AS n, prompt_tokens AS p, completion_tokens AS c, cost_usd AS usd
        FROM usage_user_days WHERE user_id = :user AND day >= :day
        UNION ALL
        SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
        FROM usage WHERE user_id = :user AND at >= :since AND at < :day
    )
"""
# Per key: requests, prompt and completion tokens and cost since :day, since :month and ever.
_SUMS = ", ".join(
    f"SUM(CASE WHEN at >= {bound} THEN {value} ELSE 0 END)"
    for bound in (":day", ":month", "0")
    for value in ("1", "prompt_tokens", "completion_tokens", "COALESCE(cost_usd, 0)")
)


def usage_statements(
    chat_id: str,
    user_id: str | None,
    turn_id: int | None,
    usage: Usage,
    *,
    now: float,
) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that record one request and add it to the totals, for the caller's
    transaction (`Database.batch`)."""
    request = (
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
    day = int(now // DAY_S) * DAY_S
    statements = [
        (_ADD_REQUEST, request),
        (_ADD_TO_CHAT, (chat_id, *figures)),
        (_ADD_TO_DAY, (day, *figures)),
    ]
    if user_id is not None:
        statements.append((_ADD_TO_USER_DAY, (user_id, day, *figures)))
    return statements


class SQLiteUsage:
    """`UsageRepository` on the usage table and its per-day totals."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(
        self, chat_id: str, usage: Usage, *, now: float, user_id: str | None = None
    ) -> None:
        await self._db.batch(usage_statements(chat_id, user_id, None, usage, now=now))

    async def totals(self, *, since: float, user_id: str | None = None) -> UsageTotals:
        day = -(-since // DAY_S) * DAY_S  # the first day's start at or after `since`
        row = await self._db.fetch_one(
            _TOTALS if user_id is None else _USER_TOTALS,
            {"day": day, "since": since, "user": user_id},
        )
        return UsageTotals(*row) if row else UsageTotals()

    async def by(
        self, column: Literal["user_id", "chat_id"], *, day: float, month: float, limit: int
    ) -> list[UsageRow]:
        assert column in ("user_id", "chat_id")  # the column name is never user input
        rows = await self._db.fetch_all(
            f"SELECT {column}, {_SUMS} FROM usage WHERE {column} IS NOT NULL GROUP BY {column}"
            " ORDER BY SUM(COALESCE(cost_usd, 0)) DESC,"
            " SUM(prompt_tokens + completion_tokens) DESC LIMIT :limit",
            {"day": day, "month": month, "limit": limit},
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
