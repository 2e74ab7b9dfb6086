"""The bot's own membership: added to a group, removed from it, blocked or unblocked by a user."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.observability.logs import get_logger
from bot.telegram.handlers.context import BotContext

log = get_logger(__name__)

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}
GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}
INTRO = (
    "👋 Thanks for adding me! Mention me (@{username}) or reply to one of my messages and "
    "I'll answer. I keep one memory for this group; /clear forgets it."
)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """Logged; when the bot joins a group it introduces itself, once.

    Removal (or a user blocking the bot) needs nothing else: the chat's history stays, and an
    answer still under way fails once, quietly, when Telegram refuses it.
    """
    change = update.my_chat_member
    if change is None:
        return
    old, new = change.old_chat_member.status, change.new_chat_member.status
    log.info("bot_membership_changed", chat_type=change.chat.type, old=old, new=new)
    if change.chat.type in GROUPS and new in PRESENT and old not in PRESENT:
        try:
            await context.bot.send_message(
                change.chat.id, INTRO.format(username=context.bot.username)
            )
        except TelegramError as exc:
            log.warning("introduction_failed", error=type(exc).__name__)
