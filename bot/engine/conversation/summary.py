"""The rolling summary: older turns folded into a short text the model keeps seeing.

After an answer is delivered, a background task (at most one per chat, a few in all, each
bounded by SUMMARY_TIMEOUT) checks whether the chat's unsummarised history still fits a
request. When some of it no longer does, the oldest turns (those that fell out, and at least
SUMMARY_MIN_TURNS, so that summary calls stay rare) are folded into the chat's summary by
the model. Requests then carry the summary right after the system prompt and only the turns
after it. A failed, slow or cancelled summary never touches a reply: it is logged, and tried
again after a later answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from cachetools import TTLCache

from bot.config import Price
from bot.engine import errors
from bot.engine.accounting.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    Counter,
    TokenCounter,
    measure_usage,
)
from bot.engine.conversation.background import KeyedTasks
from bot.engine.conversation.context import (
    Limits,
    Message,
    fit_turns,
    history_window,
    message_tokens,
    summary_messages,
)
from bot.engine.conversation.folding import (
    MAX_BATCH_TURNS,
    SummaryPolicy,
    plan_fold,
    summary_request,
    unsummarised,
)
from bot.engine.models.client import ChatModel, Completion
from bot.engine.profiles.profiles import Profiles
from bot.observability.logs import get_logger
from bot.storage.records import Summary, Turn
from bot.storage.repositories import SummaryRepository, TurnRepository, UsageRepository

log = get_logger(__name__)

MAX_RUNNING = 4  # summary calls in flight across all chats
RETRY_AFTER_FAILURE_S = 60.0  # a chat whose summary failed waits this long before the next try
FAILURES_KEPT = 10_000  # chats remembered as failed; the oldest are forgotten first (a retry)
TEMPERATURE = 0.2


class Summarizer:
    """Schedules and runs the per-chat summary tasks."""

    def __init__(
        self,
        llm: ChatModel,
        *,
        turns: TurnRepository,
        summaries: SummaryRepository,
        usage: UsageRepository,
        policy: SummaryPolicy,
        prices: Mapping[str, Price],
        profiles: Profiles,
        tokens: TokenCounter,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.turns = turns
        self.summaries = summaries
        self.usage = usage
        self.llm = llm
        self.policy = policy
        self.prices = prices
        self.profiles = profiles
        self.tokens = tokens
        self.limits = limits
        self.clock = clock
        self._tasks = KeyedTasks(MAX_RUNNING, "summary")
        # Bounded: an entry expires when its wait is over, and at most FAILURES_KEPT are kept.
        self._failed_at: TTLCache[str, float] = TTLCache(
            maxsize=FAILURES_KEPT, ttl=RETRY_AFTER_FAILURE_S, timer=time.monotonic
        )

    async def current(self, chat_id: str) -> Summary | None:
        """The summary to send with the chat's requests (None when summaries are off)."""
        if not self.policy.enabled:
            return None
        return await self.summaries.get(chat_id)

    def schedule(self, chat_id: str, *, user_id: str | None = None) -> bool:
        """Start the chat's summary check in the background, unless one is running already.

        Its usage is charged to the chat and to `user_id` (who asked the turn that led to it),
        so it counts against that user's budgets as well as everyone's."""
        if not self.policy.enabled or chat_id in self._tasks:
            return False
        failed = self._failed_at.get(chat_id)
        if failed is not None and time.monotonic() - failed < RETRY_AFTER_FAILURE_S:
            return False
        if self._tasks.full:
            log.info("summary_skipped", chat_key=chat_id, reason="busy")
            return False
        self._tasks.start(chat_id, self._run(chat_id, user_id))
        return True

    async def close(self) -> None:
        """Cancel the summaries in flight (at shutdown): a summary is never worth waiting for."""
        await self._tasks.close()

    async def _run(self, chat_id: str, user_id: str | None) -> None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                await self._fold(chat_id, user_id, started)
        except TimeoutError:
            self._failed(chat_id, "timeout", started)
        except errors.ModelError as exc:
            self._failed(chat_id, exc.error_type, started)
        except Exception:  # a bug of ours must not take the bot down with a background task
            log.exception("summary_failed", chat_key=chat_id, error_type="internal")
            self._failed_at[chat_id] = time.monotonic()

    def _failed(self, chat_id: str, error_type: str, started: float) -> None:
        self._failed_at[chat_id] = time.monotonic()
        log.warning(
            "summary_failed",
            chat_key=chat_id,
            error_type=error_type,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )

    async def _plan(self, chat_id: str, previous: Summary | None) -> tuple[list[Turn], str]:
        """The turns to fold now (none when the history still fits) and the model to use."""
        profile = await self.profiles.resolve(chat_id)
        counter = await self.tokens.counter(profile.model)
        window = history_window(self.limits)
        recent = await self.turns.recent(chat_id, window + MAX_BATCH_TURNS)
        uncovered = unsummarised(previous, recent)
        head: list[Message] = [{"role": "system", "content": profile.system_prompt}]
        if previous is not None:
            head += summary_messages(previous.text)
        reserve = MESSAGE_OVERHEAD_TOKENS + 1  # the next message, however short
        budget = self.limits.max_prompt_tokens - reserve
        budget -= sum(message_tokens(m, counter) for m in head)
        kept = fit_turns(uncovered, self.limits, budget, counter)
        return plan_fold(uncovered, len(kept), self.policy.min_turns), profile.model

    async def _fold(self, chat_id: str, user_id: str | None, started: float) -> None:
        previous = await self.summaries.get(chat_id)
        candidates, chat_model = await self._plan(chat_id, previous)
        if not candidates:
            return
        model = self.policy.model or chat_model
        counter = await self.tokens.counter(model)
        budget = self.policy.context_tokens - self.policy.max_tokens
        messages, folded = summary_request(
            previous, candidates, self.policy.max_tokens, budget, counter
        )
        log.info("summary_started", chat_key=chat_id, turns=len(folded), model=model)
        completion = await self.llm.complete(
            messages, model=model, max_tokens=self.policy.max_tokens, temperature=TEMPERATURE
        )
        text = completion.text.strip()
        if not text:
            raise errors.EmptyAnswer()
        await self._account(chat_id, model, messages, completion, counter, user_id=user_id)
        summary = Summary(text, folded[-1].id)
        previous_end = previous.covers_to if previous else None
        saved = await self.summaries.save(chat_id, summary, previous=previous_end, now=self.clock())
        self._failed_at.pop(chat_id, None)
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        if not saved:  # a /clear (or another summary) came in between
            log.info("summary_discarded", chat_key=chat_id, turns=len(folded), model=model)
            return
        log.info(
            "summary_saved",
            chat_key=chat_id,
            turns=len(folded),
            covers_to=summary.covers_to,
            chars=len(text),
            user_id=user_id,  # charged with the chat
            model=model,
            latency_ms=latency_ms,
        )

    async def _account(
        self,
        chat_id: str,
        model: str,
        messages: list[Message],
        completion: Completion,
        counter: Counter,
        *,
        user_id: str | None,
    ) -> None:
        """Record the summary call's usage (it costs like any request) and learn from it."""
        if completion.usage is not None:
            await self.tokens.observe(model, messages, completion.usage.prompt_tokens)
        usage = measure_usage(model, messages, completion, counter, self.prices)
        await self.usage.record(chat_id, usage, now=self.clock(), user_id=user_id)
