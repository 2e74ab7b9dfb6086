"""The access and rate-limit decision for a message, made as it arrives, before it is queued.

The update processor (app/processor.py) asks `Admission` about every update that has a chat,
before the update waits for its chat. A plain message for the model is checked here against
access, the rate limit and the budgets, so that a refused flood costs neither a global slot nor
a model call. An admitted message is recorded in `CountedMessages`, and the guard, which still
runs in front of every handler, does not count it again. Everything else (commands, buttons,
membership changes) is admitted and left to the guard, unchanged. If the check itself fails,
the message is refused (fail closed), as in the guard.
"""

from __future__ import annotations

import structlog
from telegram import Chat, Message, MessageEntity, Update
from telegram.error import TelegramError

from bot.engine.errors import BotError
from bot.engine.policy.gatekeeper import Gatekeeper, Refusal
from bot.observability.logs import get_logger
from bot.telegram.handlers.triggers import is_addressed, sender_id
from bot.telegram.reply.services import CountedMessages

log = get_logger(__name__)

DROPPED = (
    "I'm still working through your earlier messages, so I skipped the ones you sent just now. "
    "Please send them again once I've answered."
)


class Admission:
    """`await admission(update)`: True to queue the update, False if it was refused here."""

    def __init__(self, gatekeeper: Gatekeeper, counted: CountedMessages) -> None:
        self._gate = gatekeeper
        self._counted = counted

    async def __call__(self, update: Update) -> bool:
        message = update.message
        if message is None or message.text is None or _is_command(message):
            return True  # decided by the guard, in front of the handlers
        user = message.from_user
        with structlog.contextvars.bound_contextvars(
            update_id=update.update_id,
            chat_id=message.chat.id,
            user_id=user.id if user else None,
        ):
            try:
                refusal = await self._decide(message)
            except Exception:  # fail closed: a broken check must not let the message through
                log.exception("guard_failed")
                refusal = Refusal("guard_failed", BotError.user_message)
            if refusal is None:
                return True
            await _refuse(message, refusal)
        return False

    async def _decide(self, message: Message) -> Refusal | None:
        user_id = message.from_user.id if message.from_user else None
        chat = message.chat
        addressed = is_addressed(message, message.get_bot().bot)
        group = chat.type != Chat.PRIVATE
        refusal = self._gate.check_access(user_id, chat.id, group=group, addressed=addressed)
        if refusal is not None or not addressed:
            return refusal
        refusal = await self._gate.check_message(sender_id(message), chat.id)
        if refusal is None:
            self._counted.add(chat.id, message.message_id)
        return refusal


async def tell_dropped(update: Update) -> None:
    """Tell the chat that what it sent while its queue was full was skipped."""
    message = update.effective_message
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(DROPPED[:200])
        elif message is not None:
            await message.reply_text(DROPPED, do_quote=message.chat.type != Chat.PRIVATE)
    except TelegramError as exc:
        log.warning("drop_notice_not_sent", error=type(exc).__name__)


def _is_command(message: Message) -> bool:
    entities = message.entities
    return (
        bool(entities) and entities[0].type == MessageEntity.BOT_COMMAND and not entities[0].offset
    )


async def _refuse(message: Message, refusal: Refusal) -> None:
    """Log the refusal (a silent repeat at debug level) and show it, once."""
    fields = {"reason": refusal.reason, "told": refusal.tell, **refusal.details}
    if not refusal.tell:
        log.debug("update_refused", **fields)
        return
    log.info("update_refused", **fields)
    try:
        await message.reply_text(refusal.message, do_quote=message.chat.type != Chat.PRIVATE)
    except TelegramError as exc:
        log.warning("refusal_not_sent", reason=refusal.reason, error=type(exc).__name__)
