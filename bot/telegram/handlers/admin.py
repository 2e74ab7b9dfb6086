"""Commands for the bot's admins (ADMIN_USER_IDS); the guard keeps everyone else out."""

from __future__ import annotations

from bot.engine.accounting.reports import UsageReport
from bot.engine.conversation import identity
from bot.storage.records import UsageRow, UsageTotals
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming

USAGE_ROWS = 10  # users and chats shown, the costliest first


def _figures(t: UsageTotals) -> str:
    return f"{t.requests:,} / {t.tokens:,} / ${t.cost_usd:,.4f}"


def _row(row: UsageRow) -> str:
    name = identity.short_name(row.key)
    return (
        f"{name}: today {_figures(row.today)} · month {_figures(row.month)}"
        f" · all {_figures(row.all_time)}"
    )


def format_usage(report: UsageReport) -> str:
    e = report.everyone
    lines = [
        "📈 Usage, UTC (requests / tokens / estimated cost)",
        f"Everyone today: {_figures(e.today)}",
        f"Everyone this month: {_figures(e.month)}",
        f"Everyone all time: {_figures(e.all_time)}",
        "",
        f"👤 Users (top {USAGE_ROWS} by cost)",
        *([_row(r) for r in report.users] or ["none yet"]),
        "",
        f"💬 Chats (top {USAGE_ROWS} by cost)",
        *([_row(r) for r in report.chats] or ["none yet"]),
    ]
    return "\n".join(lines)


async def usage(incoming: Incoming, context: BotContext) -> None:
    """Requests, tokens and cost per user and per chat: today, this month, all time."""
    report = await context.gatekeeper.usage_report(limit=USAGE_ROWS)
    await incoming.message.reply_text(format_usage(report))
