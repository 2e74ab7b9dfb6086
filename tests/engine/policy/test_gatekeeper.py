"""The gatekeeper's refusals: who may use the bot, admin-only commands, group settings, the rate
limit and each budget; a refusal is told once, then met with silence.

Budgets are read from the real usage table on a temporary SQLite file, filled the way answers
fill it (a turn's answer saved with its usage).
"""

from __future__ import annotations

import pytest

from bot.engine.policy.gatekeeper import ADMINS_ONLY, CHAT_ADMINS_ONLY, Gatekeeper
from bot.storage.records import NewTurn, Usage
from bot.storage.repositories import Stores
from tests.support.clock import FakeClock, utc
from tests.support.engine import gatekeeper

NOON = utc(2026, 5, 15, 12)
USER, OTHER, ADMIN = 7, 8, 99
GROUP = -100


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON)


async def spend(stores: Stores, user: int, tokens: int, cost: float, *, now: float) -> None:
    """One answered request of `user`: `tokens` in all (half prompt), costing `cost` dollars."""
    turn = await stores.turns.add(NewTurn(f"tg:{user}", "q", user_id=str(user)), now=now)
    assert turn is not None
    usage = Usage("gpt-test", tokens // 2, tokens - tokens // 2, cost)
    await stores.turns.save_answer(turn.id, "a", usage, now=now)


class TestAccess:
    @pytest.fixture
    def gate(self, clean_env: pytest.MonkeyPatch, stores: Stores, clock: FakeClock) -> Gatekeeper:
        return gatekeeper(
            stores,
            clock,
            allowed_user_ids=frozenset({USER}),
            allowed_chat_ids=frozenset({GROUP}),
            admin_user_ids=frozenset({ADMIN}),
        )

    def test_allowed_users_admins_and_allowed_chats_pass(self, gate: Gatekeeper) -> None:
        """An allowed user, an admin, and anyone in an allowed group may use the bot."""
        assert gate.check_access(USER, USER, group=False, addressed=True) is None
        assert gate.check_access(ADMIN, ADMIN, group=False, addressed=True) is None
        assert gate.check_access(OTHER, GROUP, group=True, addressed=True) is None

    def test_a_user_not_allowed_is_told_their_id(self, gate: Gatekeeper) -> None:
        """A stranger in private is refused (not_allowed) and told their user id."""
        refusal = gate.check_access(OTHER, OTHER, group=False, addressed=True)
        assert refusal is not None and refusal.reason == "not_allowed" and refusal.tell
        assert f"Your user id is {OTHER}" in refusal.message

    def test_a_chat_not_allowed_is_told_the_group_id(self, gate: Gatekeeper) -> None:
        """In a group that is not allowed, the refusal names the group's id and the user's."""
        refusal = gate.check_access(OTHER, -200, group=True, addressed=True)
        assert refusal is not None and refusal.reason == "not_allowed"
        assert "(id -200)" in refusal.message and f"user id {OTHER}" in refusal.message

    def test_told_once_then_silent(self, gate: Gatekeeper, clock: FakeClock) -> None:
        """The same stranger is told once a day; repeats are refused in silence."""
        first = gate.check_access(OTHER, OTHER, group=False, addressed=True)
        again = gate.check_access(OTHER, OTHER, group=False, addressed=True)
        assert first is not None and first.tell
        assert again is not None and not again.tell
        clock.now += 24 * 3600 + 1
        later = gate.check_access(OTHER, OTHER, group=False, addressed=True)
        assert later is not None and later.tell

    def test_group_chatter_is_never_answered(self, gate: Gatekeeper) -> None:
        """A message in a refused group that is not addressed to the bot is refused silently."""
        refusal = gate.check_access(OTHER, -200, group=True, addressed=False)
        assert refusal is not None and not refusal.tell
        told = gate.check_access(OTHER, -200, group=True, addressed=True)
        assert told is not None and told.tell  # the silent one did not count as told

    def test_admin_only_commands(self, gate: Gatekeeper) -> None:
        """A bot-admin command from anyone else is refused (admins_only)."""
        refusal = gate.check_admin(USER)
        assert refusal is not None and refusal.reason == "admins_only"
        assert refusal.message == ADMINS_ONLY
        assert gate.check_admin(ADMIN) is None
        assert gate.check_admin(None) is not None

    def test_group_settings_are_for_group_admins(
        self, gate: Gatekeeper, stores: Stores, clock: FakeClock
    ) -> None:
        """Group settings are for group admins by default (chat_admins_only); configurable."""
        assert gate.group_settings_admins_only
        refusal = gate.chat_admins_only()
        assert refusal.reason == "chat_admins_only" and refusal.message == CHAT_ADMINS_ONLY
        relaxed = gatekeeper(stores, clock, group_settings_admins_only=False)
        assert not relaxed.group_settings_admins_only


class TestRateLimit:
    @pytest.fixture
    def gate(self, clean_env: pytest.MonkeyPatch, stores: Stores, clock: FakeClock) -> Gatekeeper:
        return gatekeeper(
            stores,
            clock,
            rate_limit_messages=2,
            rate_limit_window_seconds=60,
            admin_user_ids=frozenset({ADMIN}),
        )

    async def test_over_the_limit_is_refused_with_the_wait(self, gate: Gatekeeper) -> None:
        """The third message in the window is refused (rate_limited) with how long to wait."""
        assert await gate.check_message(USER, USER) is None
        assert await gate.check_message(USER, USER) is None
        refusal = await gate.check_message(USER, USER)
        assert refusal is not None and refusal.reason == "rate_limited" and refusal.tell
        assert "too fast" in refusal.message
        assert 0 < float(str(refusal.details["retry_after_s"])) <= 60

    async def test_told_once_then_silent(self, gate: Gatekeeper) -> None:
        """Further messages in the same wait are refused without a word."""
        for _ in range(3):
            await gate.check_message(USER, USER)
        again = await gate.check_message(USER, USER)
        assert again is not None and again.reason == "rate_limited" and not again.tell

    async def test_counted_per_user_and_admins_exempt(self, gate: Gatekeeper) -> None:
        """One user's flood does not limit another; admins are never limited."""
        for _ in range(3):
            await gate.check_message(USER, USER)
        assert await gate.check_message(OTHER, OTHER) is None
        for _ in range(5):
            assert await gate.check_message(ADMIN, ADMIN) is None


# (the budget setting, its limit, scope, period, metric, words of the refusal)
BUDGETS = [
    ("user_daily_token_limit", 100, "user", "day", "tokens", "daily allowance of 100 tokens"),
    ("user_monthly_token_limit", 100, "user", "month", "tokens", "monthly allowance of 100"),
    ("user_daily_cost_limit", 0.5, "user", "day", "cost", "daily allowance of $0.50"),
    ("user_monthly_cost_limit", 0.5, "user", "month", "cost", "monthly allowance of $0.50"),
    ("global_monthly_cost_limit", 0.5, "everyone", "month", "cost", "monthly budget for every"),
]


class TestBudgets:
    @pytest.mark.parametrize(("setting", "limit", "scope", "period", "metric", "words"), BUDGETS)
    async def test_each_budget_refuses_once_used_up(
        self,
        clean_env: pytest.MonkeyPatch,
        stores: Stores,
        clock: FakeClock,
        setting: str,
        limit: float,
        scope: str,
        period: str,
        metric: str,
        words: str,
    ) -> None:
        """A used-up budget refuses the next message (over_budget), saying when it resets."""
        gate = gatekeeper(stores, clock, **{setting: limit})
        await spend(stores, USER, 60, 0.3, now=NOON)
        assert await gate.check_message(USER, USER) is None  # 60 tokens, $0.30: under
        await spend(stores, USER, 60, 0.3, now=NOON)
        refusal = await gate.check_message(USER, USER)
        assert refusal is not None and refusal.reason == "over_budget" and refusal.tell
        assert words in refusal.message and "It resets" in refusal.message
        details = refusal.details
        assert (details["scope"], details["period"], details["metric"]) == (scope, period, metric)
        assert details["limit"] == limit
        other = await gate.check_message(OTHER, OTHER)
        assert (other is not None) is (scope == "everyone")

    async def test_told_once_then_silent(
        self, clean_env: pytest.MonkeyPatch, stores: Stores, clock: FakeClock
    ) -> None:
        """An over-budget user is told once an hour; messages between are refused silently."""
        gate = gatekeeper(stores, clock, user_daily_token_limit=100)
        await spend(stores, USER, 200, 0.0, now=NOON)
        first = await gate.check_message(USER, USER)
        again = await gate.check_message(USER, USER)
        assert first is not None and first.tell
        assert again is not None and again.reason == "over_budget" and not again.tell
        clock.now += 3601
        later = await gate.check_message(USER, USER)
        assert later is not None and later.tell

    async def test_a_new_day_frees_a_daily_budget(
        self, clean_env: pytest.MonkeyPatch, stores: Stores, clock: FakeClock
    ) -> None:
        """A daily budget is available again after midnight UTC."""
        gate = gatekeeper(stores, clock, user_daily_token_limit=100)
        await spend(stores, USER, 200, 0.0, now=NOON)
        assert await gate.check_message(USER, USER) is not None
        clock.now = utc(2026, 5, 16, 0, 0, 1)
        assert await gate.check_message(USER, USER) is None

    async def test_admins_are_exempt(
        self, clean_env: pytest.MonkeyPatch, stores: Stores, clock: FakeClock
    ) -> None:
        """An admin over every budget is still let through."""
        gate = gatekeeper(
            stores, clock, admin_user_ids=frozenset({ADMIN}), global_monthly_cost_limit=0.1
        )
        await spend(stores, ADMIN, 200, 1.0, now=NOON)
        assert await gate.check_message(ADMIN, ADMIN) is None
        assert await gate.check_message(USER, USER) is not None
