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
whole answer once more (see :mod:`bot.telegram.reply.stream_messages`).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.engine.models.client import OnDelta
from bot.observability.logs import get_logger
from bot.telegram.format.render import RenderedPart, plain_parts, render
from bot.telegram.reply.delivery import is_formatting_error, is_not_modified, retry_after_seconds
from bot.telegram.reply.pacing import ChatPacer, sleep_until
from bot.telegram.reply.reasoning import Thinking
from bot.telegram.reply.stream_messages import StreamedMessages, StreamStats
from bot.telegram.reply.stream_steps import Mode, Step, next_step

log = get_logger(__name__)

_MAX_DRAFT_ID = 2**31 - 1
DRAFTS_REFUSED_KEPT = 10_000  # private chats remembered as refusing drafts
ANSWERS_KEPT = 10_000  # answers whose messages are remembered, to be replaced in place


class StreamState:
    """What every reply shares, in memory only: per-chat pacing and flood pauses, the
    private chats whose drafts were refused, and a counter for draft ids.

    Lost on restart, which costs little: a chat that refuses drafts is found out again by
    one refused call.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.pacer = ChatPacer(clock)
        # Bounded (least recently refused forgotten first): forgetting costs one refused call.
        self.drafts_refused: LRUCache[int, bool] = LRUCache(maxsize=DRAFTS_REFUSED_KEPT)
        # A turn's answer messages (edit to ask again edits them); a forgotten one is sent anew.
        self.answers: LRUCache[int, tuple[int, ...]] = LRUCache(maxsize=ANSWERS_KEPT)
        # A random start, so that a reply after a restart does not animate from an old draft.
        self._draft_ids = itertools.count(secrets.randbelow(_MAX_DRAFT_ID))

    def new_draft_id(self) -> int:
        """A non-zero draft id, different for every reply."""
        return next(self._draft_ids) % _MAX_DRAFT_ID + 1


@dataclass
class _Call:
    step: Step
    refused_drafts: bool = False  # a refused draft does not count as an update of the chat


class StreamingReply:
    """One answer streamed to one chat; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        reply_to: int | None,
        thread_id: int | None = None,
        interval: float,
        max_wait: float,
        state: StreamState,
        on_visible: Callable[[], None] = lambda: None,
        stop: InlineKeyboardMarkup | None = None,
        reuse: tuple[int, ...] = (),
    ) -> None:
        self._chat_id = chat_id
        self._interval = interval
        self._max_wait = max_wait
        self._state = state
        self._on_visible = on_visible
        private = chat_id > 0
        drafts = private and not reuse and chat_id not in state.drafts_refused
        self._mode = Mode.DRAFT if drafts else Mode.EDIT
        self._text = ""
        self._thinking = Thinking()  # a reasoning model's thoughts, shown above the answer
        self._live = True  # intermediate updates still wanted
        self._plain = False  # Telegram rejected our formatting: intermediate updates go plain
        self._refused: Forbidden | None = None  # the chat refuses the bot: no point trying again
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._in_call = False
        self._first_chunk_at: float | None = None
        self.stats = StreamStats()
        self._view = StreamedMessages(
            bot,
            chat_id,
            reply_to=reply_to,
            thread_id=thread_id,
            draft_id=state.new_draft_id(),
            pacer=state.pacer,
            interval=interval,
            max_wait=max_wait,
            stats=self.stats,
            stop=stop,
            reuse=reuse,
        )

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def on_delta(self) -> OnDelta | None:
        return self._receive

    async def _receive(self, chunk: str) -> None:
        """A chunk from the model: remembered at once, shown when the chat can take it."""
        if not self._thinking.take(chunk):
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

    async def deliver(self, text: str) -> list[int]:
        """Make the chat show the whole answer, formatted, in parts within Telegram's limit;
        the ids of its messages."""
        await self.stop()
        if self._refused is not None:
            raise self._refused
        parts = render(text) or [RenderedPart(plain) for plain in plain_parts(text)]
        ids = await self._view.finish(self._thinking.before(parts))
        self._log_finished(len(parts))
        return ids

    # -- the sender ---------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        try:
            while self._live:
                await self._wake.wait()
                ready = self._state.pacer.ready_at(self._chat_id, self._interval)
                await sleep_until(ready)
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
        step = next_step(self._mode, parts, self._view.shown, self._view.draft)
        if step is None:
            return
        call = _Call(step)
        self._in_call = True
        try:
            await self._view.make(step)
            self._became_visible()
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

    def _became_visible(self) -> None:
        if self.stats.first_visible_s is None:
            started = self._first_chunk_at or time.monotonic()
            self.stats.first_visible_s = time.monotonic() - started
            self._on_visible()

    def _parts(self, text: str) -> list[RenderedPart]:
        if self._plain:
            return self._thinking.before([RenderedPart(plain) for plain in plain_parts(text)])
        return self._thinking.before(render(text))

    def _flood_pause(self, exc: RetryAfter, step: Step) -> None:
        """Telegram asked this chat to wait: later updates skip ahead to the latest text."""
        seconds = retry_after_seconds(exc)
        self._state.pacer.pause(self._chat_id, seconds)
        self.stats.flood_pauses += 1
        log.warning("stream_paused", method=step.kind, retry_after_s=seconds)
        if seconds > self._max_wait:
            self._live = False  # too long to wait: the final delivery is left for later
        self._wake.set()

    def _rejected(self, call: _Call, exc: BadRequest) -> None:
        step = call.step
        if step.kind == "edit" and is_not_modified(exc):
            self._view.already_shows(step)
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
            self._state.drafts_refused[self._chat_id] = True
            self._mode = Mode.EDIT
            log.warning("drafts_refused", error=type(exc).__name__, message=exc.message)
            self._wake.set()
            return
        log.warning("stream_update_failed", method=call.step.kind, error=exc.message)
        self._live = False
        if isinstance(exc, Forbidden):
            self._refused = exc

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
