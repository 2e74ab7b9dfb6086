"""The one guard in front of every handler: access, admin commands, group settings, limits.

It runs in an early handler group for every update. A refused update stops here
(ApplicationHandlerStop): no handler sees it and the model is never called. The decisions are
the engine's (Gatekeeper); this module only maps Telegram updates onto them and shows the
answer. If a check itself fails, the update is refused too (fail closed), because an exception
here would otherwise let python-telegram-bot go on to the next handler group.
"""

from __future__ import annotations

from telegram import CallbackQuery, Chat, ChatMember, Message, MessageEntity, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.engine.errors import BotError
from bot.engine.policy.gatekeeper import Gatekeeper, Refusal
from bot.observability.logs import get_logger
from bot.telegram.app.services import services
from bot.telegram.handlers.triggers import is_addressed

log = get_logger(__name__)

# After the log context is bound (app.CONTEXT_GROUP = -10), before every handler (group 0).
GUARD_GROUP = -5

ADMIN_COMMANDS = frozenset({"usage"})
# Commands that ask the model, held to the rate limit and budgets like a message would be.
MODEL_COMMANDS = frozenset({"retry"})
# In groups these change what everyone gets, so only group admins and bot admins may use them.
SETTINGS_COMMANDS = frozenset({"clear", "model", "persona", "system"})
SHOW_WITHOUT_ARGUMENTS = frozenset(
    {"model", "persona", "system"}
)  # without arguments they only show
SETTINGS_BUTTONS = ("model:", "persona:")  # callback_data prefixes of settings pickers
CHAT_ADMIN_STATUSES = frozenset({ChatMember.ADMINISTRATOR, ChatMember.OWNER})


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Lets allowed updates through; answers refused ones once, briefly, and stops them."""
    try:
        refusal = await _decide(update, context)
    except Exception:  # fail closed: a broken check must not let the update reach the model
        log.exception("guard_failed")
        refusal = Refusal("guard_failed", BotError.user_message)
    if refusal is None:
        return
    # Silent repeats log at debug level: a flood of them must not flood the log either.
    fields = {"reason": refusal.reason, "told": refusal.tell, **refusal.details}
    if refusal.tell:
        log.info("update_refused", **fields)
    else:
        log.debug("update_refused", **fields)
    await _tell(update, refusal)
    raise ApplicationHandlerStop


async def _decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Refusal | None:
    gate = services(context).gatekeeper
    if update.callback_query is not None:
        return await _check_button(update.callback_query, update.effective_chat, context, gate)
    if update.effective_message is not None:  # new, edited, channel posts alike
        return await _check_message(update.effective_message, context, gate)
    return None  # the bot's own membership changes and the like


async def _check_message(
    message: Message, context: ContextTypes.DEFAULT_TYPE, gate: Gatekeeper
) -> Refusal | None:
    me = context.bot.bot
    user, chat = message.from_user, message.chat
    user_id = user.id if user else None
    group = chat.type != Chat.PRIVATE
    command = _command(message, me)
    addressed = command is not None or is_addressed(message, me)
    refusal = gate.check_access(user_id, chat.id, group=group, addressed=addressed)
    if refusal is not None:
        return refusal
    if command in ADMIN_COMMANDS:
        return gate.check_admin(user_id)
    if group and _changes_settings(command, message):
        allowed = not gate.group_settings_admins_only or gate.is_admin(user_id)
        if not allowed and not await _is_chat_admin(context, message, user):
            return gate.chat_admins_only()
    asks_model = command in MODEL_COMMANDS or (command is None and message.text is not None)
    if asks_model and addressed:
        return await gate.check_message(user_id, chat.id)
    return None


async def _check_button(
    query: CallbackQuery,
    chat: Chat | None,
    context: ContextTypes.DEFAULT_TYPE,
    gate: Gatekeeper,
) -> Refusal | None:
    user_id = query.from_user.id
    group = chat is not None and chat.type != Chat.PRIVATE
    chat_id = chat.id if chat is not None else None  # None: a button of an inline message
    refusal = gate.check_access(user_id, chat_id, group=group, addressed=True)
    if refusal is not None or chat is None:
        return refusal
    restricted = group and (query.data or "").startswith(SETTINGS_BUTTONS)
    if restricted and gate.group_settings_admins_only and not gate.is_admin(user_id):
        return (
            None if await _member_is_admin(context, chat.id, user_id) else gate.chat_admins_only()
        )
    return None


def _command(message: Message, me: User) -> str | None:
    """The command's name when the message is a command for this bot ("/model@me gpt" -> model)."""
    entities = message.entities
    if not message.text or not entities or entities[0].type != MessageEntity.BOT_COMMAND:
        return None
    if entities[0].offset != 0:
        return None
    name, _, target = message.text[1 : entities[0].length].partition("@")
    if target and target.lower() != (me.username or "").lower():
        return None  # addressed to another bot in the group
    return name.lower()


def _changes_settings(command: str | None, message: Message) -> bool:
    if command not in SETTINGS_COMMANDS:
        return False
    has_arguments = len((message.text or "").split(maxsplit=1)) > 1
    return command not in SHOW_WITHOUT_ARGUMENTS or has_arguments


async def _is_chat_admin(
    context: ContextTypes.DEFAULT_TYPE, message: Message, user: User | None
) -> bool:
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True  # an anonymous admin, writing as the group itself
    return user is not None and await _member_is_admin(context, message.chat.id, user.id)


async def _member_is_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
    """Whether Telegram says this user administers the group (asked afresh each time)."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.warning("chat_admin_check_failed", error=type(exc).__name__)
        return False
    return member.status in CHAT_ADMIN_STATUSES


async def _tell(update: Update, refusal: Refusal) -> None:
    """Show the refusal (or, for a repeat, nothing); a failure to send is only logged."""
    try:
        if update.callback_query is not None:
            # Always answered, so the button stops spinning; a toast holds at most 200 chars.
            await update.callback_query.answer(refusal.message[:200] if refusal.tell else None)
        elif (message := update.effective_message) is not None and refusal.tell:
            group = message.chat.type != Chat.PRIVATE
            await message.reply_text(refusal.message, do_quote=group)
    except TelegramError as exc:
        log.warning("refusal_not_sent", reason=refusal.reason, error=type(exc).__name__)
