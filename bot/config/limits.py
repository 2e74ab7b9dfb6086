"""Who may use the bot and how much: allowlists, admins, the rate limit, budgets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.config.values import BlankIsUnset, Ids, Section


class LimitSettings(Section):
    """ALLOWED_*/ADMIN_USER_IDS, GROUP_*_ADMINS_ONLY, RATE_LIMIT_* (messages, and commands and
    buttons) and the budgets."""

    allowed_user_ids: Ids = frozenset()
    allowed_chat_ids: Ids = frozenset()
    admin_user_ids: Ids = frozenset()
    group_settings_admins_only: bool = True
    # /export in groups: the whole history of every member (issue 14), so admins only by default.
    group_export_admins_only: bool = True
    rate_limit_messages: int = Field(default=20, ge=0)  # 0: no rate limit
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    # Commands that do not ask the model, and button taps: a limit of their own.
    rate_limit_commands: int = Field(default=10, ge=0)  # 0: no limit
    rate_limit_commands_window_seconds: int = Field(default=60, ge=1)
    # Budgets: an unset limit is no limit.
    user_daily_token_limit: Annotated[int | None, BlankIsUnset] = Field(default=None, ge=1)
    user_monthly_token_limit: Annotated[int | None, BlankIsUnset] = Field(default=None, ge=1)
    user_daily_cost_limit: Annotated[float | None, BlankIsUnset] = Field(default=None, gt=0)
    user_monthly_cost_limit: Annotated[float | None, BlankIsUnset] = Field(default=None, gt=0)
    global_monthly_cost_limit: Annotated[float | None, BlankIsUnset] = Field(default=None, gt=0)
