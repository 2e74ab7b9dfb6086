"""Asking the model for a turn's answer: the request built, trimmed harder once if too long,
the answer checked, the usage measured and reported.

Stores nothing about the turn itself: the turn's states are kept by turns.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

from bot.config import Price
from bot.engine import errors
from bot.engine.accounting.pricing import cost_usd
from bot.engine.accounting.tokens import TokenCounter, measure_usage
from bot.engine.conversation.context import (
    ContentOf,
    Limits,
    Message,
    build_messages,
    history_window,
    message_tokens,
    turn_content,
)
from bot.engine.conversation.folding import unsummarised
from bot.engine.conversation.stopping import STOPPED_MARK, InFlight, Progress
from bot.engine.conversation.summary import Summarizer
from bot.engine.events import EngineEvents
from bot.engine.models.completion import ChatModel, Completion, OnDelta
from bot.engine.policy.budgets import Estimate, Spending
from bot.engine.profiles.profiles import ChatProfile
from bot.engine.tools.loop import OnToolCall, ToolLoop
from bot.observability.logs import get_logger
from bot.storage.records import Attachment, Turn, Usage
from bot.storage.repositories import TurnRepository

log = get_logger(__name__)


class TurnContents(Protocol):
    """How turns with files are shown to the model (engine/media): images as parts."""

    def content_from(
        self, turns: Sequence[Turn], found: Mapping[int, Sequence[Attachment]]
    ) -> ContentOf | None: ...


@dataclass(frozen=True)
class Generated:
    """The model's answer and the messages it was asked with (they calibrate token counts);
    `exchange`: the tool calls and results that led to it (stored with the turn)."""

    messages: list[Message]
    completion: Completion
    exchange: list[Message] = field(default_factory=list)


class Generator:
    """Asks `llm` for answers within the chat's limits; reports each answer to `events`."""

    def __init__(
        self,
        llm: ChatModel,
        *,
        turns: TurnRepository,
        summaries: Summarizer,
        tokens: TokenCounter,
        limits: Limits,
        max_output_tokens: int,
        prices: Mapping[str, Price],
        events: EngineEvents,
        spending: Spending,
        tools: ToolLoop | None = None,
        contents: TurnContents | None = None,
    ) -> None:
        self._llm = llm
        self._tools = tools  # None: no tools configured
        self._contents = contents
        self._turns = turns
        self._summaries = summaries
        self._tokens = tokens
        self._limits = limits
        self._max_output_tokens = max_output_tokens
        self._prices = prices
        self._events = events
        self._spending = spending

    async def within(
        self,
        turn: Turn,
        profile: ChatProfile,
        on_delta: OnDelta | None,
        *,
        held: AsyncExitStack,
        in_flight: InFlight,
        limit: float,
        on_tool: OnToolCall | None = None,
    ) -> Generated:
        """The answer, stoppable through `in_flight` (/stop), or TurnTimedOut once `limit`
        (MODEL_TURN_TIMEOUT) has passed: generation stops."""
        deadline = asyncio.timeout(limit)
        try:
            async with deadline, in_flight.running(turn) as progress:
                watched = progress.watch(on_delta)
                return await self.answer(
                    turn, profile, watched, held=held, progress=progress, on_tool=on_tool
                )
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            log.warning("turn_timed_out", chat_key=turn.chat_id, turn_id=turn.id, limit_s=limit)
            raise errors.TurnTimedOut() from exc

    async def answer(
        self,
        turn: Turn,
        profile: ChatProfile,
        on_delta: OnDelta | None,
        *,
        held: AsyncExitStack,
        progress: Progress | None = None,
        on_tool: OnToolCall | None = None,
    ) -> Generated:
        """The model's non-empty answer to `turn`. Before the model is asked, the request's
        largest cost is held against the budgets on `held` (`OverBudget` when one is used up).
        When the provider says the context is too long, the request is built again once with a
        quarter of the messages and half the prompt tokens. Raises a `ModelError`
        (`EmptyAnswer` for a blank answer). `progress` is told the messages asked with;
        `on_tool` the tool calls as they start (see tools/loop.py)."""
        messages = await self._messages(turn, self._limits, profile)
        if progress is not None:
            progress.messages = messages
        estimate = await self._estimate(profile.model, messages)
        await held.enter_async_context(self._spending.hold(turn.user_id, estimate))
        try:
            return await self._generate(messages, turn, profile, on_delta, on_tool)
        except errors.ContextTooLong:
            log.info("context_trimmed_harder", model=profile.model)
        harder = Limits(
            max_messages=max(1, self._limits.max_messages // 4),
            max_prompt_tokens=self._limits.max_prompt_tokens // 2,
        )
        messages = await self._messages(turn, harder, profile)
        if progress is not None:
            progress.messages, progress.text = messages, ""
        return await self._generate(messages, turn, profile, on_delta, on_tool)

    @staticmethod
    def stopped(progress: Progress, model: str, *, started: float) -> Generated:
        """A stopped answer: the part written so far, marked as stopped (usage estimated).
        `started`: when the turn's generation began (time.monotonic)."""
        latency_s = time.monotonic() - started
        kept = progress.text.rstrip()
        text = f"{kept}\n\n{STOPPED_MARK}" if kept else STOPPED_MARK
        completion = Completion(
            text, None, attempts=1, latency_s=latency_s, ttft_s=None, model=model
        )
        return Generated(progress.messages, completion)

    async def _estimate(self, model: str, messages: list[Message]) -> Estimate:
        """The most a request may cost: its prompt and the whole MAX_OUTPUT_TOKENS, priced."""
        counter = await self._tokens.counter(model)
        prompt = sum(message_tokens(m, counter) for m in messages)
        completion = self._max_output_tokens
        price = cost_usd(self._prices, model, prompt, completion)
        return Estimate(prompt + completion, price or 0.0)

    async def account(self, model: str, generated: Generated) -> Usage:
        """The answer's usage, reported as an answer of `model`: the provider's count (which
        calibrates our estimates), or our calibrated estimate."""
        messages, completion = generated.messages, generated.completion
        if completion.usage is not None and completion.rounds == 1:  # one request: calibrates
            await self._tokens.observe(model, messages, completion.usage.prompt_tokens)
        counter = await self._tokens.counter(model)
        usage = measure_usage(model, messages, completion, counter, self._prices)
        self._events.model_answered(
            model=usage.model,
            latency_s=completion.latency_s,
            ttft_s=completion.ttft_s,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
        )
        return usage

    async def _messages(self, turn: Turn, limits: Limits, profile: ChatProfile) -> list[Message]:
        """The system prompt (never trimmed), the summary, the newest turns after it, `turn`."""
        summary = await self._summaries.current(turn.chat_id)
        window = history_window(limits) + (1 if turn.replaces is not None else 0)
        found: Mapping[int, Sequence[Attachment]] = {}
        if self._contents is None:
            history = await self._turns.recent(turn.chat_id, window)
        else:  # the turns and their files in one read (one trip to SQLite's thread)
            history, found = await self._turns.recent_with_attachments(
                turn.chat_id, window, also=[turn.id]
            )
        # A retry is asked as if the answer it replaces had never been given.
        history = [t for t in history if t.id != turn.replaces]
        contents = self._contents
        content = None if contents is None else contents.content_from([*history, turn], found)
        return build_messages(
            profile.system_prompt,
            unsummarised(summary, history),
            turn,
            limits,
            summary=summary.text if summary else None,
            counter=await self._tokens.counter(profile.model),
            content=content or turn_content,
        )

    async def _generate(
        self,
        messages: list[Message],
        turn: Turn,
        profile: ChatProfile,
        on_delta: OnDelta | None,
        on_tool: OnToolCall | None,
    ) -> Generated:
        """The answer, through the tool loop when the model is offered tools in this turn."""
        loop = self._tools
        admin = loop is not None and loop.policy.is_admin(turn.chat_id, turn.user_id)
        tools = loop.offered(profile.model, admin=admin) if loop is not None else []
        if loop is None or not tools:
            return Generated(messages, await self._complete(messages, profile, on_delta))

        async def ask(asked: list[Message], offered: Sequence[Message]) -> Completion:
            return await self._llm.complete(
                asked,
                model=profile.model,
                max_tokens=self._max_output_tokens,
                temperature=profile.temperature,
                on_delta=on_delta,
                tools=offered,
            )

        run = await loop.run(ask, messages, tools, admin=admin, on_tool=on_tool)
        if not run.completion.text.strip():
            raise errors.EmptyAnswer()
        return Generated(messages, run.completion, run.exchange)

    async def _complete(
        self, messages: list[Message], profile: ChatProfile, on_delta: OnDelta | None
    ) -> Completion:
        completion = await self._llm.complete(
            messages,
            model=profile.model,
            max_tokens=self._max_output_tokens,
            temperature=profile.temperature,
            on_delta=on_delta,
        )
        if not completion.text.strip():
            raise errors.EmptyAnswer()
        return completion
