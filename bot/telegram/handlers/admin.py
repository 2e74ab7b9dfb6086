"""Commands for the bot's admins (ADMIN_USER_IDS); the guard keeps everyone else out.

/usage names users and chats by id with their spending, so it answers in private chats only:
in a group it would show all of that to every member. There it says so, briefly.
"""

from __future__ import annotations

from bot.engine.accounting.reports import UsageReport
from bot.engine.conversation import identity
from bot.observability.logs import get_logger
from bot.storage.records import UsageRow, UsageTotals
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming

log = get_logger(__name__)

USAGE_ROWS = 10  # users and chats shown, the costliest first
PRIVATE_ONLY = "I show usage figures in a private chat only: send /usage to me directly."


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
    """Requests, tokens and cost per user and per chat: today, this month, all time; in a
    group, only a note that the figures are shown in private."""
    if incoming.message.chat.type != "private":
        log.info("usage_report_withheld")
        await incoming.message.reply_text(PRIVATE_ONLY, do_quote=True)
        return
    report = await context.gatekeeper.usage_report(limit=USAGE_ROWS)
    await incoming.message.reply_text(format_usage(report))
