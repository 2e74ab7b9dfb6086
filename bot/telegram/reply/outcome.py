"""How a stored turn ends in Telegram, so that no message is lost or answered twice.

Late answers and apologies go to the topic the turn's stored key names (the chat itself for
a chat without topics or a forum's General topic).

Every way of finishing a turn (a new message, /retry, recovery after a crash) runs inside
`settled`, which decides what Telegram's refusals mean for the turn:

- 403 (the user blocked the bot, the bot was removed from the group) and other permanent
  refusals: the turn fails for good, it is logged once, nothing is retried;
- flood control and network trouble that outlasted delivery's own retries, and flood control
  that asks to wait longer than FLOOD_WAIT_MAX: the turn stays unfinished (its answer stored)
  and is delivered later by the recovery sweep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.engine import errors
from bot.engine.conversation import identity
from bot.observability.logs import get_logger
from bot.storage.records import Turn
from bot.telegram.reply.delivery import send_answer, send_text
from bot.telegram.reply.services import Services

log = get_logger(__name__)


@asynccontextmanager
async def settled(svc: Services, turn: Turn) -> AsyncIterator[None]:
    """Run the block that answers `turn`; settle the turn if Telegram refuses it."""
    try:
        yield
    except (Forbidden, ChatMigrated, BadRequest) as exc:
        # BadRequest before NetworkError: it is a subclass, but a permanent refusal.
        log.warning(
            "answer_undeliverable",
            turn_id=turn.id,
            chat_key=turn.chat_id,
            error=type(exc).__name__,
            reason=exc.message,
        )
        await svc.conversation.undeliverable(turn)
    except (RetryAfter, NetworkError) as exc:
        log.warning(
            "delivery_postponed",
            turn_id=turn.id,
            chat_key=turn.chat_id,
            error=type(exc).__name__,
        )


def _quote(turn: Turn) -> int | None:
    return int(turn.reply_to) if turn.reply_to else None


async def deliver_stored(bot: Bot, svc: Services, turn: Turn) -> None:
    """Send an answer that is already stored, without asking the model again.

    It arrives late, so it quotes the question it answers (in private chats too).
    """
    assert turn.answer is not None
    where = identity.parse_telegram(turn.chat_id)
    async with settled(svc, turn):
        await send_answer(
            bot,
            where.chat_id,
            turn.answer,
            reply_to=_quote(turn),
            thread_id=where.topic,
            max_wait=svc.telegram.flood_wait_max,
        )
        await svc.conversation.delivered_late(turn)


async def expire(bot: Bot, svc: Services, turn: Turn) -> None:
    """Tell the user, quoting the message, that it waited too long to be answered now."""
    where = identity.parse_telegram(turn.chat_id)
    async with settled(svc, turn):
        await send_text(
            bot,
            where.chat_id,
            errors.Expired.user_message,
            reply_to=_quote(turn),
            thread_id=where.topic,
            max_wait=svc.telegram.flood_wait_max,
        )
        await svc.conversation.failed(turn, errors.Expired())
