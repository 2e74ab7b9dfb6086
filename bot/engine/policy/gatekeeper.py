"""Who may do what, and how much: one place that every channel asks before anything runs.

Access (allowlists), admin-only commands, group settings, the per-user rate limits (messages
for the model; commands and buttons) and the budgets are decided here, without knowing the
channel; the channel only maps its updates onto these questions and shows the answer. A
refusal says what the person is told and whether to tell them at all: each kind of refusal is
told once per window (per person and chat), repeats are met with silence, so a flood of
refused updates never becomes a flood of bot messages.

"Who" is a sender id: a user's id, or for someone writing as a chat (an anonymous group admin,
a user posting as their channel) that chat's id, so that each such sender has limits of their
own instead of sharing Telegram's one placeholder user.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.config import LimitSettings, Price
from bot.engine import errors
from bot.engine.accounting.periods import describe_duration, describe_reset
from bot.engine.accounting.pricing import price_for
from bot.engine.accounting.reports import UsageReport, usage_report
from bot.engine.policy.access import AccessPolicy
from bot.engine.policy.budgets import Budgets, Estimate, Overrun, Scope, budgets_from
from bot.engine.policy.notices import Notices
from bot.engine.policy.ratelimit import MessageRateLimit
from bot.engine.policy.shared import SharedNotices, SharedRateLimit, SharedState
from bot.observability.logs import get_logger
from bot.storage.repositories import UsageRepository

log = get_logger(__name__)

NOT_ALLOWED_TTL_S = 24 * 3600  # a refused person is reminded of their id at most once a day
BUDGET_NOTICE_TTL_S = 3600  # an over-budget user is reminded at most once an hour
REFUSAL_NOTICE_TTL_S = 600  # "admins only" is told once per person and chat per 10 minutes

ADMINS_ONLY = "That command is for the bot's admins only."
CHAT_ADMINS_ONLY = "Only this group's admins can change its settings."
CHAT_ADMINS_ONLY_EXPORT = "Only this group's admins can export its history."


@dataclass(frozen=True)
class Refusal:
    """Why something was refused and what the person is told (if `tell`)."""

    # for logs: not_allowed, admins_only, chat_admins_only, rate_limited, commands_rate_limited,
    # over_budget
    reason: str
    message: str
    tell: bool = True  # False: they were told recently, so say nothing (no amplification)
    details: Mapping[str, object] = field(default_factory=dict)


def _not_allowed_text(user_id: int | None, chat_id: int | None, *, group: bool) -> str:
    if group:
        return (
            "Sorry, I'm not enabled for this group. The bot's owner can allow this group "
            f"(id {chat_id}) or you (user id {user_id})."
        )
    return (
        "Sorry, this is a private bot and you're not on its list of users. "
        f"Your user id is {user_id}: send it to the bot's owner if you should have access."
    )


def _over_budget_text(overrun: Overrun, now: float) -> str:
    budget = overrun.budget
    when = describe_reset(overrun.resets_at, now)
    period = "daily" if budget.period == "day" else "monthly"
    if budget.scope is Scope.EVERYONE:
        return f"The bot has used up its {period} budget for everyone. It resets {when}."
    return (
        f"You've used up your {period} allowance of {budget.amount(budget.limit)}. "
        f"It resets {when}."
    )


class Gatekeeper:
    """The access, admin, rate-limit and budget decisions for every channel."""

    def __init__(
        self,
        usage: UsageRepository,
        settings: LimitSettings,
        *,
        models: Sequence[str],
        prices: Mapping[str, Price],
        clock: Callable[[], float] = time.time,
        shared: SharedState | None = None,
    ) -> None:
        """`models` (every model a request may go to) and `prices` (MODEL_PRICES) only serve
        the start-up warning about cost budgets that cannot be counted. With `shared`
        (REDIS_URL) the rate limits and their notices are shared by every replica."""
        self.access = AccessPolicy.from_settings(settings)
        self.group_settings_admins_only = settings.group_settings_admins_only
        self.group_export_admins_only = settings.group_export_admins_only
        self._models = tuple(models)
        self._prices = prices
        self._usage = usage
        self._clock = clock
        self._rate, self._commands = _rate_limits(settings, shared)
        self._budgets = Budgets(usage, budgets_from(settings), clock)
        self._notices = Notices(clock=clock) if shared is None else SharedNotices(shared)

    def announce(self) -> None:
        """Log at start-up who may use the bot; loudly when anyone may."""
        if self.access.is_open:
            log.warning(
                "access_open",
                message="ALLOWED_USER_IDS and ALLOWED_CHAT_IDS are empty: ANYONE who finds this "
                "bot can use it, at the expense of your API key.",
            )
        else:
            log.info(
                "access_restricted",
                allowed_users=len(self.access.allowed_users),
                allowed_chats=len(self.access.allowed_chats),
                admins=len(self.access.admins),
            )
        unpriced = self._cost_budgets_without_price()
        if unpriced:
            log.warning("cost_budget_without_price", models=unpriced)

    def _cost_budgets_without_price(self) -> list[str]:
        if not any(b.metric == "cost" for b in self._budgets.budgets):
            return []
        return [m for m in self._models if m and price_for(self._prices, m) is None]

    def is_admin(self, user_id: int | None) -> bool:
        return self.access.is_admin(user_id)

    def check_access(
        self, user_id: int | None, chat_id: int | None, *, group: bool, addressed: bool
    ) -> Refusal | None:
        """None if this user may use the bot in this chat.

        Only a message addressed to the bot is answered, and only the first in a day: group
        chatter that does not concern the bot never gets a reply.
        """
        if self.access.allows(user_id, chat_id):
            return None
        key = ("not_allowed", chat_id, user_id)
        return Refusal(
            "not_allowed",
            _not_allowed_text(user_id, chat_id, group=group),
            tell=addressed and self._notices.first(key, NOT_ALLOWED_TTL_S),
        )

    def check_admin(self, user_id: int | None, chat_id: int | None = None) -> Refusal | None:
        """None if this user is one of the bot's admins; the refusal is told once per
        REFUSAL_NOTICE_TTL_S per user and chat."""
        if self.is_admin(user_id):
            return None
        key = ("admins_only", chat_id, user_id)
        return Refusal("admins_only", ADMINS_ONLY, self._notices.first(key, REFUSAL_NOTICE_TTL_S))

    def chat_admins_only(
        self, user_id: int | None = None, chat_id: int | None = None, *, export: bool = False
    ) -> Refusal:
        """The refusal of a group settings change (or, with `export`, of a group history
        export) by someone who is not a group admin, told once per REFUSAL_NOTICE_TTL_S per
        user and chat."""
        key = ("chat_admins_only", chat_id, user_id)
        told = self._notices.first(key, REFUSAL_NOTICE_TTL_S)
        text = CHAT_ADMINS_ONLY_EXPORT if export else CHAT_ADMINS_ONLY
        return Refusal("chat_admins_only", text, told)

    async def check_command(self, sender_id: int | None, chat_id: int) -> Refusal | None:
        """None if a command that does not ask the model (or a button tap) may go ahead:
        within RATE_LIMIT_COMMANDS per RATE_LIMIT_COMMANDS_WINDOW_SECONDS. Admins are exempt;
        the refusal is told once per wait."""
        if self.is_admin(sender_id):
            return None
        who = str(sender_id) if sender_id is not None else f"chat:{chat_id}"
        wait = await self._commands.hit(who)
        if wait is None:
            return None
        return Refusal(
            "commands_rate_limited",
            f"Too many commands. Please wait {describe_duration(wait)} and try again.",
            tell=await self._notices.first_shared(("commands_rate_limited", who), wait),
            details={"retry_after_s": round(wait, 1)},
        )

    async def check_message(self, user_id: int | None, chat_id: int) -> Refusal | None:
        """None if a message for the model may go ahead: within the rate limit and budgets.

        Admins are exempt from both.
        """
        if self.is_admin(user_id):
            return None
        who = str(user_id) if user_id is not None else f"chat:{chat_id}"
        wait = await self._rate.hit(who)
        if wait is not None:
            return Refusal(
                "rate_limited",
                f"You're sending messages too fast. Please wait {describe_duration(wait)} "
                "and try again.",
                tell=await self._notices.first_shared(("rate_limited", who), wait),
                details={"retry_after_s": round(wait, 1)},
            )
        return await self._check_budgets(user_id, who)

    async def check_budget(self, user_id: int | None, chat_id: int) -> Refusal | None:
        """The budgets alone, for a message whose rate limit was already counted (as it
        arrived): None if it may go ahead. Admins are exempt."""
        if self.is_admin(user_id):
            return None
        return await self._check_budgets(
            user_id, str(user_id) if user_id is not None else f"chat:{chat_id}"
        )

    async def _check_budgets(self, user_id: int | None, who: str) -> Refusal | None:
        overrun = await self._budgets.overrun(None if user_id is None else str(user_id))
        if overrun is None:
            return None
        return self._over_budget(overrun, who)

    @asynccontextmanager
    async def hold(self, user_id: str | None, estimate: Estimate) -> AsyncIterator[None]:
        """Hold a request's estimated cost against the budgets while it is in flight (the
        conversation's `Spending`); raise `errors.OverBudget` instead when a budget, counting
        what is stored and what other requests hold, is used up. Admins are never refused
        (their requests are held all the same, for the global budget)."""
        exempt = user_id is not None and self.is_admin(_as_int(user_id))
        async with self._budgets.held(user_id, estimate, check=not exempt) as overrun:
            if overrun is not None:
                refusal = self._over_budget(overrun, user_id or "everyone")
                log.info("request_over_budget", user_key=user_id, **refusal.details)
                raise errors.OverBudget(refusal.message)
            yield

    @property
    def requests_held(self) -> int:
        """Requests in flight holding an estimate against the budgets."""
        return len(self._budgets.holds)

    def _over_budget(self, overrun: Overrun, who: str) -> Refusal:
        now = self._clock()
        budget = overrun.budget
        return Refusal(
            "over_budget",
            _over_budget_text(overrun, now),
            tell=self._notices.first(
                ("over_budget", who, overrun.resets_at),
                min(BUDGET_NOTICE_TTL_S, overrun.resets_at - now),
            ),
            details={
                "scope": budget.scope.value,
                "period": budget.period.value,
                "metric": budget.metric.value,
                "limit": budget.limit,
                "used": round(overrun.used, 6),
                "resets_in_s": round(overrun.resets_at - now),
            },
        )

    async def usage_report(self, limit: int = 10) -> UsageReport:
        return await usage_report(self._usage, now=self._clock(), limit=limit)


def _rate_limits(
    settings: LimitSettings, shared: SharedState | None
) -> tuple[MessageRateLimit, MessageRateLimit]:
    """The message and command rate limits: in this process, or shared through Redis."""
    messages = (settings.rate_limit_messages, settings.rate_limit_window_seconds)
    commands = (settings.rate_limit_commands, settings.rate_limit_commands_window_seconds)
    if shared is None:
        return MessageRateLimit(*messages), MessageRateLimit(*commands)
    return (
        SharedRateLimit(*messages, shared, "messages"),
        SharedRateLimit(*commands, shared, "commands"),
    )


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
