"""The one guard in front of every handler: access, admin commands, group settings, limits.

It runs in an early handler group for every update. A refused update stops here
(ApplicationHandlerStop): no handler sees it and the model is never called. The decisions are
the engine's (Gatekeeper); this module only maps Telegram updates onto them and shows the
answer. Who may use which command or button, and which of them ask the model, is the command
table's to say (handlers/table.py). Every command for the bot and every button tap is rate
limited: those that ask the model with messages, all others with the commands' own limit, so a
new command cannot skip it. Each kind of refusal is told once per window, then met with silence
(a button is still answered, without text, so it stops spinning). Whether someone administers a
group comes from a per-group list kept for a minute (handlers/chat_admins.py). Rate limits and
budgets count a sender (handlers/triggers.sender_id): someone writing as a chat is that chat. If
a check itself fails, the update is refused too (fail closed), because an exception here would
otherwise let python-telegram-bot go on to the next handler group.
"""

from __future__ import annotations

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.engine.errors import BotError
from bot.engine.policy.gatekeeper import Gatekeeper, Refusal
from bot.observability.logs import get_logger
from bot.telegram.handlers import table
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.table import Access
from bot.telegram.handlers.triggers import asks_with_file, is_addressed, sender_id

log = get_logger(__name__)

# After the log context is bound (app.CONTEXT_GROUP = -10), before every handler (group 0).
GUARD_GROUP = -5


async def guard(update: Update, context: BotContext) -> None:
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


async def _decide(update: Update, context: BotContext) -> Refusal | None:
    gate = context.gatekeeper
    if update.callback_query is not None:
        return await _check_button(update.callback_query, update.effective_chat, context, gate)
    if update.effective_message is not None:  # new, edited, channel posts alike
        return await _check_message(update.effective_message, context, gate)
    return None  # the bot's own membership changes and the like


async def _check_message(message: Message, context: BotContext, gate: Gatekeeper) -> Refusal | None:
    me = context.bot.bot
    user, chat = message.from_user, message.chat
    user_id = user.id if user else None
    group = chat.type != Chat.PRIVATE
    command = _command(message, me)
    addressed = command is not None or is_addressed(message, me)
    refusal = gate.check_access(user_id, chat.id, group=group, addressed=addressed)
    if refusal is not None:
        return refusal
    if command is not None:  # every command for this bot, in the table or not
        return await _check_command(table.command(command), message, context, gate)
    if addressed and (message.text is not None or asks_with_file(message)):  # for the model
        # Rate limit counted as it arrived (handlers/admission.py), or with the album's first
        # photo; budgets checked again, as turns ahead of it may have used them up.
        album = message.media_group_id
        arrived = album is not None and context.services.albums.arriving(album)
        if context.services.counted.take(chat.id, message.message_id) or arrived:
            return await gate.check_budget(sender_id(message), chat.id)
        return await gate.check_message(sender_id(message), chat.id)
    if addressed:  # a photo, sticker, file…: answered with a note, so limited like a command
        return await gate.check_command(sender_id(message), chat.id)
    return None  # a message not for the bot


async def _check_command(
    entry: table.Command | None, message: Message, context: BotContext, gate: Gatekeeper
) -> Refusal | None:
    """What the command table's policy says about this command from this sender here.

    A command that asks the model counts against the message rate limit and the budgets;
    every other one (an unknown command too: it may be answered) against the commands' own.
    """
    sender, chat_id = sender_id(message), message.chat.id
    if entry is None or not entry.asks_model:
        refusal = await gate.check_command(sender, chat_id)
        if refusal is not None or entry is None:
            return refusal
    user = message.from_user
    user_id = user.id if user else None
    if entry.access is Access.BOT_ADMINS:
        return gate.check_admin(user_id, chat_id)
    group = message.chat.type != Chat.PRIVATE
    if group and entry.access.needs_group_admin(has_arguments=_has_arguments(message)):
        allowed = not _admins_only(entry.access, gate) or gate.is_admin(user_id)
        if not allowed and not await _is_chat_admin(context, message, user):
            return gate.chat_admins_only(
                user_id, chat_id, export=entry.access is Access.GROUP_ADMINS_TO_READ
            )
    if entry.asks_model:  # held to the rate limit and budgets like a message would be
        return await gate.check_message(sender, chat_id)
    return None


async def _check_button(
    query: CallbackQuery,
    chat: Chat | None,
    context: BotContext,
    gate: Gatekeeper,
) -> Refusal | None:
    """Access, then the commands' rate limit, then the button's own policy."""
    user_id = query.from_user.id
    group = chat is not None and chat.type != Chat.PRIVATE
    chat_id = chat.id if chat is not None else None  # None: a button of an inline message
    refusal = gate.check_access(user_id, chat_id, group=group, addressed=True)
    if refusal is None:
        refusal = await gate.check_command(user_id, chat_id if chat_id is not None else user_id)
    if refusal is not None or chat is None:
        return refusal
    entry = table.button(query.data or "")
    if entry is not None and entry.access is Access.BOT_ADMINS:
        return gate.check_admin(user_id, chat.id)
    restricted = group and entry is not None and entry.access.needs_group_admin(has_arguments=True)
    if restricted and gate.group_settings_admins_only and not gate.is_admin(user_id):
        admin = await context.chat_admins.is_admin(context.bot, chat.id, user_id)
        return None if admin else gate.chat_admins_only(user_id, chat.id)
    return None


def _admins_only(access: Access, gate: Gatekeeper) -> bool:
    """Whether the setting that governs this access's group-admin rule is on:
    GROUP_EXPORT_ADMINS_ONLY for reading the history, GROUP_SETTINGS_ADMINS_ONLY otherwise."""
    if access is Access.GROUP_ADMINS_TO_READ:
        return gate.group_export_admins_only
    return gate.group_settings_admins_only


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


def _has_arguments(message: Message) -> bool:
    return len((message.text or "").split(maxsplit=1)) > 1


async def _is_chat_admin(context: BotContext, message: Message, user: User | None) -> bool:
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True  # an anonymous admin, writing as the group itself
    if user is None:
        return False
    return await context.chat_admins.is_admin(context.bot, message.chat.id, user.id)


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
