"""Answering a stored turn in its chat: "typing…", the answer as it grows, then the answer.

Every way of answering (a new message, /retry, recovery of an unfinished turn) comes here, so
the three cannot drift apart. Where the answer goes (the chat, and the topic of a forum or of
a private chat with topics) is read from the turn's stored conversation key, so an answer
recovered after a crash lands in the topic it was asked in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from telegram import Bot, InlineKeyboardMarkup

from bot.config import TelegramSettings
from bot.engine import errors
from bot.engine.conversation import identity
from bot.engine.models.client import OnDelta
from bot.observability import metrics
from bot.storage.records import Turn
from bot.telegram.reply.delivery import send_answer, send_text
from bot.telegram.reply.media import prepare_media
from bot.telegram.reply.services import Services
from bot.telegram.reply.stop_button import stop_markup
from bot.telegram.reply.streaming import StreamingReply, StreamState
from bot.telegram.reply.tool_progress import tool_progress
from bot.telegram.reply.typing import typing
from bot.telegram.reply.voice import speak_answer

GENERAL_TOPIC = 1
"""The General topic's thread id: Telegram refuses it for messages (they go without a thread
id) but shows "typing…" in General only when sendChatAction names it."""


@metrics.in_flight
async def answer_turn(
    bot: Bot,
    svc: Services,
    turn: Turn,
    *,
    forum: bool = False,
    in_place: bool = False,
    files: bool = True,
) -> None:
    """Generate (showing "typing…", then the answer as it grows) and deliver a stored turn's answer.

    In groups the answer is a reply to the message that asked; in private chats it is not
    (quoting every message there is noise). `forum`: the chat is a forum, so a turn of its
    General topic shows "typing…" there (the stored key cannot tell: recovery passes False).
    `in_place`: the answer of the turn this one replaces is edited into the new one, when its
    messages are known (streaming on). `files=False`: the caller knows the turn has none (a
    text message just stored), so they are not read: one trip to the database less before the
    model is asked.
    """
    where = identity.parse_telegram(turn.chat_id)
    chat_id, thread_id = where.chat_id, where.topic
    quote = int(turn.reply_to) if turn.reply_to and chat_id < 0 else None
    stream = _stream(bot, svc, turn, where, quote=quote, forum=forum, in_place=in_place)
    prepared = None
    try:
        async with stream as answer:
            prepared = await prepare_media(bot, svc, turn) if files else None
            reply = await svc.conversation.generate(
                prepared.turn if prepared else turn,
                on_delta=answer.on_delta,
                on_generated=answer.generated,
                on_tool=tool_progress(answer.on_delta),  # "🔧 time: get_current_time"
            )
    except errors.ModelError as exc:
        shown = exc if prepared is None or svc.media is None else prepared.explain(svc.media, exc)
        await send_text(
            bot,
            chat_id,
            shown.user_message,
            reply_to=quote,
            thread_id=thread_id,
            max_wait=svc.telegram.flood_wait_max,
        )
        return
    svc.streams.answers[turn.id] = tuple(await answer.deliver(reply.text))
    await svc.conversation.delivered(reply)
    await speak_answer(bot, svc, reply.turn, reply.text, chat_id=chat_id, thread_id=thread_id)


def _stream(
    bot: Bot,
    svc: Services,
    turn: Turn,
    where: identity.TelegramConversation,
    *,
    quote: int | None,
    forum: bool,
    in_place: bool,
) -> AbstractAsyncContextManager[Answer]:
    """Where the answer is shown while it grows (see `answer_turn` for `forum`, `in_place`)."""
    old = svc.streams.answers.get(turn.replaces) if in_place and turn.replaces else None
    return answer_stream(
        bot,
        svc.telegram,
        svc.streams,
        where.chat_id,
        reply_to=quote,
        thread_id=where.topic,
        typing_thread=GENERAL_TOPIC if forum and where.topic is None else where.topic,
        stop=stop_markup(turn.id),
        reuse=old or (),
    )


class Answer(Protocol):
    """How the channel hands an answer to the chat: chunks while generating, then the text."""

    @property
    def on_delta(self) -> OnDelta | None: ...

    def generated(self) -> None: ...

    async def deliver(self, text: str) -> list[int]:
        """Show the whole answer; the ids of its messages."""


class WholeAnswer:
    """Streaming off: nothing is shown until the answer is complete."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        reply_to: int | None,
        thread_id: int | None = None,
        max_wait: float,
    ) -> None:
        self._bot, self._chat_id, self._reply_to = bot, chat_id, reply_to
        self._thread_id, self._max_wait = thread_id, max_wait

    @property
    def on_delta(self) -> OnDelta | None:
        return None

    def generated(self) -> None:
        """Nothing was shown, so nothing to stop."""

    async def deliver(self, text: str) -> list[int]:
        sent = await send_answer(
            self._bot,
            self._chat_id,
            text,
            reply_to=self._reply_to,
            thread_id=self._thread_id,
            max_wait=self._max_wait,
        )
        return [message.message_id for message in sent]


@asynccontextmanager
async def answer_stream(
    bot: Bot,
    settings: TelegramSettings,
    state: StreamState,
    chat_id: int,
    *,
    reply_to: int | None,
    thread_id: int | None = None,
    typing_thread: int | None = None,
    stop: InlineKeyboardMarkup | None = None,
    reuse: tuple[int, ...] = (),
) -> AsyncIterator[Answer]:
    """Show "typing…" while the block generates, streaming the answer if STREAMING is on;
    both, and the answer, in topic `thread_id` (None: the chat, or a forum's General topic).

    "Typing…" (in `typing_thread`) stops once the first text is visible. After the block,
    ``deliver`` the text. `stop` is the Stop button shown while the answer streams (see
    reply/stop_button.py); `reuse` the messages of an answer to replace in place (streaming
    only: else sent anew).
    """
    async with typing(bot, chat_id, thread_id=typing_thread) as indicator:
        if not settings.streaming:
            yield WholeAnswer(
                bot,
                chat_id,
                reply_to=reply_to,
                thread_id=thread_id,
                max_wait=settings.flood_wait_max,
            )
            return
        reply = StreamingReply(
            bot,
            chat_id,
            reply_to=reply_to,
            thread_id=thread_id,
            interval=settings.stream_edit_interval,
            max_wait=settings.flood_wait_max,
            state=state,
            on_visible=indicator.stop,
            stop=stop,
            reuse=reuse,
        )
        try:
            yield reply
        finally:
            await reply.stop()
