"""What one streamed answer shows in its chat (its messages and its draft), and the calls that
change it: one intermediate step at a time while the answer grows, then the final parts.

The final delivery makes the chat show exactly the answer's parts: messages that already show
their part are left alone, the others are edited, missing parts are sent, surplus ones deleted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import RetryAfter, TelegramError

from bot.observability.logs import get_logger
from bot.telegram.format.render import RenderedPart
from bot.telegram.reply.delivery import edit_part, reply_parameters, send_part
from bot.telegram.reply.pacing import ChatPacer, sleep_until
from bot.telegram.reply.stop_button import DRAFT_STOP
from bot.telegram.reply.stream_steps import PartKey, Step, part_key

log = get_logger(__name__)


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
    button: bool = False  # carries the Stop button: the final text must replace it


class StreamedMessages:
    """The messages and the draft of one streamed reply, in one chat."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        reply_to: int | None,
        thread_id: int | None = None,
        draft_id: int,
        pacer: ChatPacer,
        interval: float,
        max_wait: float,
        stats: StreamStats,
        stop: InlineKeyboardMarkup | None = None,
        reuse: tuple[int, ...] = (),
    ) -> None:
        """`stop`: the Stop button shown on messages while the answer grows (None: no button;
        drafts then get no stop control either). `reuse`: messages of an earlier answer that
        this one replaces in place (edited, surplus ones deleted)."""
        self._bot, self._chat_id, self._reply_to = bot, chat_id, reply_to
        self._thread_id = thread_id  # every message and draft goes into this topic
        self._stop = stop
        self._draft_id = draft_id
        self._pacer, self._interval, self._max_wait = pacer, interval, max_wait
        self._stats = stats
        self._messages: list[_Shown] = [_Shown(message_id, ("", ())) for message_id in reuse]
        self.draft: PartKey | None = None  # what the draft shows

    @property
    def shown(self) -> list[PartKey]:
        """What each message shows, in order."""
        return [m.key for m in self._messages]

    def already_shows(self, step: Step) -> None:
        """Telegram said the edit changes nothing: the message shows the step's part."""
        self._messages[step.index].key = part_key(step.part)

    async def make(self, step: Step) -> None:
        """Make the step's one Bot API call (errors are the caller's to interpret)."""
        part, chat_id = step.part, self._chat_id
        entities = part.entities or None
        if step.kind == "draft":
            await self._bot.send_message_draft(
                chat_id,
                self._draft_id,
                part.text,
                entities=entities,
                message_thread_id=self._thread_id,
                api_kwargs=DRAFT_STOP if self._stop else None,
            )
            self.draft = part_key(part)
            self._stats.drafts += 1
        elif step.kind == "send":
            message = await self._bot.send_message(
                chat_id,
                part.text,
                entities=entities,
                reply_parameters=reply_parameters(self._reply_to if step.index == 0 else None),
                link_preview_options=None,
                message_thread_id=self._thread_id,
                reply_markup=self._stop,
            )
            self._messages.append(_Shown(message.message_id, part_key(part), bool(self._stop)))
            self._stats.sends += 1
        else:
            shown = self._messages[step.index]
            await self._bot.edit_message_text(
                part.text,
                chat_id,
                shown.message_id,
                entities=entities,
                link_preview_options=None,
                reply_markup=self._stop,
            )
            shown.key = part_key(part)
            self._stats.edits += 1

    async def finish(self, parts: list[RenderedPart]) -> list[int]:
        """Make the chat show exactly ``parts``, each in a message of its own; their ids."""
        ids: list[int] = []
        for index, part in enumerate(parts):
            if index < len(self._messages):
                shown = self._messages[index]
                ids.append(shown.message_id)
                if shown.key == part_key(part) and not shown.button:
                    continue
                await self._wait_for_chat(edit=True)
                edited = await edit_part(
                    self._bot, self._chat_id, shown.message_id, part, max_wait=self._max_wait
                )
                self._pacer.updated(self._chat_id)
                self._stats.final_edits += 1
                if edited:
                    continue
                ids.pop()
            await self._wait_for_chat(edit=False)
            reply_to = self._reply_to if index == 0 else None
            sent = await send_part(
                self._bot,
                self._chat_id,
                part,
                reply_to=reply_to,
                thread_id=self._thread_id,
                max_wait=self._max_wait,
            )
            ids.extend(message.message_id for message in sent)
            self._stats.final_sends += 1
        await self._delete(self._messages[len(parts) :])
        return ids

    async def _wait_for_chat(self, *, edit: bool) -> None:
        """Wait out the chat's flood pause, and before an edit also the update interval.

        A flood pause longer than FLOOD_WAIT_MAX is not waited out: RetryAfter is raised, and
        the answer (already stored) is delivered later.
        """
        if edit:
            ready = self._pacer.ready_at(self._chat_id, self._interval, window=False)
        else:
            ready = self._pacer.paused_until(self._chat_id)
        wait = max(0.0, ready - time.monotonic())
        if self._pacer.paused_until(self._chat_id) - time.monotonic() > self._max_wait:
            log.warning("flood_wait_too_long", retry_after_s=round(wait, 1), max_s=self._max_wait)
            raise RetryAfter(math.ceil(wait))
        await sleep_until(ready)

    async def _delete(self, surplus: list[_Shown]) -> None:
        """Messages left over when the final answer has fewer parts than were streamed."""
        for shown in surplus:
            try:
                await self._bot.delete_message(self._chat_id, shown.message_id)
            except TelegramError as exc:
                log.warning("stream_surplus_not_deleted", error=type(exc).__name__)
