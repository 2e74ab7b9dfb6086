"""Showing an answer while the model writes it, then delivering it complete and formatted.

Private chats stream into a native draft (``sendMessageDraft``), which Telegram animates and
which vanishes when the final message is sent. Groups (drafts are for private chats only)
get a message that is edited as the answer grows. If a chat refuses drafts (an older Bot API
server answers 404, or any other error), the reply carries on with edits, and the chat is
remembered so that its later replies start with edits.

The model's stream never waits for Telegram: a chunk only extends the text held here and
wakes the reply's one sender task, which sends the *latest* text as soon as the chat may take
an update (see :mod:`bot.telegram.reply.pacing`). Versions that arrive meanwhile are skipped, never
queued, so a slow or flood-limited chat costs fewer updates, not a growing backlog.

An answer longer than one message streams into several: a part that is complete becomes a
message of its own and the stream continues in the next. The final delivery renders the
whole answer once more and makes the chat show exactly its parts: messages that already
show their part are left alone, the others are edited, missing parts are sent.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.config import TelegramSettings
from bot.engine.models.client import OnDelta
from bot.observability.logs import get_logger
from bot.telegram.format.render import RenderedPart, plain_parts, render
from bot.telegram.reply.delivery import (
    edit_part,
    is_formatting_error,
    is_not_modified,
    reply_parameters,
    retry_after_seconds,
    send_answer,
    send_part,
)
from bot.telegram.reply.pacing import ChatPacer
from bot.telegram.reply.stream_steps import Mode, PartKey, Step, next_step, part_key
from bot.telegram.reply.typing import typing

log = get_logger(__name__)

_MAX_DRAFT_ID = 2**31 - 1


class StreamState:
    """What every reply shares, in memory only: per-chat pacing and flood pauses, the
    private chats whose drafts were refused, and a counter for draft ids.

    Lost on restart, which costs little: a chat that refuses drafts is found out again by
    one refused call.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.pacer = ChatPacer(clock)
        self.drafts_refused: set[int] = set()
        # A random start, so that a reply after a restart does not animate from an old draft.
        self._draft_ids = itertools.count(secrets.randbelow(_MAX_DRAFT_ID))

    def new_draft_id(self) -> int:
        """A non-zero draft id, different for every reply."""
        return next(self._draft_ids) % _MAX_DRAFT_ID + 1


@dataclass
class StreamStats:
    """What one streamed reply cost, for the ``stream_finished`` log event."""

    chunks: int = 0
    drafts: int = 0
    sends: int = 0
    edits: int = 0
    skipped: int = 0  # updates not sent because of a network error
    flood_pauses: int = 0
    final_edits: int = 0
    final_sends: int = 0
    first_visible_s: float | None = None  # from the first chunk to the first update shown


@dataclass
class _Shown:
    message_id: int
    key: PartKey


@dataclass
class _Call:
    step: Step
    refused_drafts: bool = False  # a refused draft does not count as an update of the chat


class Answer(Protocol):
    """How the channel hands an answer to the chat: chunks while generating, then the text."""

    @property
    def on_delta(self) -> OnDelta | None: ...

    def generated(self) -> None: ...

    async def deliver(self, text: str) -> None: ...


class WholeAnswer:
    """Streaming off: nothing is shown until the answer is complete."""

    def __init__(self, bot: Bot, chat_id: int, *, reply_to: int | None) -> None:
        self._bot, self._chat_id, self._reply_to = bot, chat_id, reply_to

    @property
    def on_delta(self) -> OnDelta | None:
        return None

    def generated(self) -> None:
        """Nothing was shown, so nothing to stop."""

    async def deliver(self, text: str) -> None:
        await send_answer(self._bot, self._chat_id, text, reply_to=self._reply_to)


class StreamingReply:
    """One answer streamed to one chat; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        reply_to: int | None,
        interval: float,
        state: StreamState,
        on_visible: Callable[[], None] = lambda: None,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._interval = interval
        self._state = state
        self._on_visible = on_visible
        private = chat_id > 0
        self._mode = Mode.DRAFT if private and chat_id not in state.drafts_refused else Mode.EDIT
        self._draft_id = state.new_draft_id()
        self._text = ""
        self._live = True  # intermediate updates still wanted
        self._plain = False  # Telegram rejected our formatting: intermediate updates go plain
        self._refused: Forbidden | None = None  # the chat refuses the bot: no point trying again
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._in_call = False
        self._messages: list[_Shown] = []
        self._draft: PartKey | None = None
        self._first_chunk_at: float | None = None
        self.stats = StreamStats()

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def on_delta(self) -> OnDelta | None:
        return self._receive

    async def _receive(self, chunk: str) -> None:
        """A chunk from the model: remembered at once, shown when the chat can take it."""
        self._text += chunk
        self.stats.chunks += 1
        if self._first_chunk_at is None:
            self._first_chunk_at = time.monotonic()
        if not self._live:
            return
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_loop(), name="stream-sender")
        self._wake.set()

    def generated(self) -> None:
        """The answer is complete: no new intermediate update, as the final text follows.

        Without this, an answer that arrived in one burst (a short one, a fast provider)
        cost one more draft or edit, sent while the answer was being stored, and the final
        message then waited for that call to come back (a full Bot API round trip).
        """
        self._live = False

    async def stop(self) -> None:
        """No more intermediate updates; waits for a call in flight so none lands late."""
        self._live = False
        task, self._sender = self._sender, None
        if task is None:
            return
        if not self._in_call:
            task.cancel()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def deliver(self, text: str) -> None:
        """Make the chat show the whole answer, formatted, in parts within Telegram's limit."""
        await self.stop()
        if self._refused is not None:
            raise self._refused
        parts = render(text) or [RenderedPart(plain) for plain in plain_parts(text)]
        for index, part in enumerate(parts):
            if index < len(self._messages):
                shown = self._messages[index]
                if shown.key == part_key(part):
                    continue
                await self._wait_for_chat(edit=True)
                edited = await edit_part(self._bot, self._chat_id, shown.message_id, part)
                self._state.pacer.updated(self._chat_id)
                self.stats.final_edits += 1
                if edited:
                    continue
            await self._wait_for_chat(edit=False)
            reply_to = self._reply_to if index == 0 else None
            await send_part(self._bot, self._chat_id, part, reply_to=reply_to)
            self.stats.final_sends += 1
        await self._delete(self._messages[len(parts) :])
        self._log_finished(len(parts))

    # -- the sender ---------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        try:
            while self._live:
                await self._wake.wait()
                ready = self._state.pacer.ready_at(self._chat_id, self._interval)
                await asyncio.sleep(max(0.0, ready - time.monotonic()))
                if not self._live:
                    break
                self._wake.clear()
                await self._update()
        except Exception:  # a bug here must not cost the answer: deliver() still runs
            log.exception("stream_failed")
            self._live = False

    async def _update(self) -> None:
        """Make the one call that brings the chat closest to the latest text."""
        parts = self._parts(self._text)
        step = next_step(self._mode, parts, [m.key for m in self._messages], self._draft)
        if step is None:
            return
        call = _Call(step)
        self._in_call = True
        try:
            await self._make(step)
            self._wake.set()  # the chat may be a step or more behind (a new part, say)
        except RetryAfter as exc:
            self._flood_pause(exc, step)
        except BadRequest as exc:  # before NetworkError: BadRequest is one of its subclasses
            self._rejected(call, exc)
        except NetworkError as exc:
            self.stats.skipped += 1
            log.info("stream_update_skipped", method=step.kind, error=type(exc).__name__)
            self._wake.set()  # try again with the latest text at the next turn
        except TelegramError as exc:
            self._failed(call, exc)
        finally:
            self._in_call = False
            if not call.refused_drafts:
                self._state.pacer.updated(self._chat_id)

    async def _make(self, step: Step) -> None:
        part, chat_id = step.part, self._chat_id
        entities = part.entities or None
        if step.kind == "draft":
            await self._bot.send_message_draft(
                chat_id, self._draft_id, part.text, entities=entities
            )
            self._draft = part_key(part)
            self.stats.drafts += 1
        elif step.kind == "send":
            message = await self._bot.send_message(
                chat_id,
                part.text,
                entities=entities,
                reply_parameters=reply_parameters(self._reply_to if step.index == 0 else None),
                link_preview_options=None,
            )
            self._messages.append(_Shown(message.message_id, part_key(part)))
            self.stats.sends += 1
        else:
            shown = self._messages[step.index]
            await self._bot.edit_message_text(
                part.text, chat_id, shown.message_id, entities=entities, link_preview_options=None
            )
            shown.key = part_key(part)
            self.stats.edits += 1
        self._shown()

    def _shown(self) -> None:
        if self.stats.first_visible_s is None:
            started = self._first_chunk_at or time.monotonic()
            self.stats.first_visible_s = time.monotonic() - started
            self._on_visible()

    def _parts(self, text: str) -> list[RenderedPart]:
        if self._plain:
            return [RenderedPart(plain) for plain in plain_parts(text)]
        return render(text)

    def _flood_pause(self, exc: RetryAfter, step: Step) -> None:
        """Telegram asked this chat to wait: later updates skip ahead to the latest text."""
        seconds = retry_after_seconds(exc)
        self._state.pacer.pause(self._chat_id, seconds)
        self.stats.flood_pauses += 1
        log.warning("stream_paused", method=step.kind, retry_after_s=seconds)
        self._wake.set()

    def _rejected(self, call: _Call, exc: BadRequest) -> None:
        step = call.step
        if step.kind == "edit" and is_not_modified(exc):
            self._messages[step.index].key = part_key(step.part)
        elif is_formatting_error(exc) and not self._plain:
            log.warning("stream_formatting_rejected", method=step.kind, error=exc.message)
            self._plain = True
            self._wake.set()
        else:
            self._failed(call, exc)

    def _failed(self, call: _Call, exc: TelegramError) -> None:
        """A refused draft switches this reply (and chat) to edits; other errors end streaming."""
        if call.step.kind == "draft":
            call.refused_drafts = True
            self._state.drafts_refused.add(self._chat_id)
            self._mode = Mode.EDIT
            log.warning("drafts_refused", error=type(exc).__name__, message=exc.message)
            self._wake.set()
            return
        log.warning("stream_update_failed", method=call.step.kind, error=exc.message)
        self._live = False
        if isinstance(exc, Forbidden):
            self._refused = exc

    # -- the final delivery -------------------------------------------------------------------

    async def _wait_for_chat(self, *, edit: bool) -> None:
        """Wait out the chat's flood pause, and before an edit also the update interval."""
        pacer = self._state.pacer
        if edit:
            ready = pacer.ready_at(self._chat_id, self._interval, window=False)
        else:
            ready = pacer.paused_until(self._chat_id)
        await asyncio.sleep(max(0.0, ready - time.monotonic()))

    async def _delete(self, surplus: list[_Shown]) -> None:
        """Messages left over when the final answer has fewer parts than were streamed."""
        for shown in surplus:
            try:
                await self._bot.delete_message(self._chat_id, shown.message_id)
            except TelegramError as exc:
                log.warning("stream_surplus_not_deleted", error=type(exc).__name__)

    def _log_finished(self, parts: int) -> None:
        stats = self.stats
        first = stats.first_visible_s
        log.info(
            "stream_finished",
            mode=self._mode.value,
            parts=parts,
            chunks=stats.chunks,
            drafts=stats.drafts,
            sends=stats.sends,
            edits=stats.edits,
            skipped=stats.skipped,
            flood_pauses=stats.flood_pauses,
            final_edits=stats.final_edits,
            final_sends=stats.final_sends,
            first_visible_ms=None if first is None else round(first * 1000, 1),
        )


@asynccontextmanager
async def answer_stream(
    bot: Bot, settings: TelegramSettings, state: StreamState, chat_id: int, *, reply_to: int | None
) -> AsyncIterator[Answer]:
    """Show "typing…" while the block generates, streaming the answer if STREAMING is on.

    "Typing…" stops once the first text is visible. After the block, ``deliver`` the text.
    """
    async with typing(bot, chat_id) as indicator:
        if not settings.streaming:
            yield WholeAnswer(bot, chat_id, reply_to=reply_to)
            return
        reply = StreamingReply(
            bot,
            chat_id,
            reply_to=reply_to,
            interval=settings.stream_edit_interval,
            state=state,
            on_visible=indicator.stop,
        )
        try:
            yield reply
        finally:
            await reply.stop()
