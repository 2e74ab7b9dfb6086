"""A turn's life, independent of any chat channel.

store the user's message -> build the context -> call the model -> store the answer ->
the channel delivers it -> mark it answered (or failed, with a short message for the user).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.config import ConversationSettings, Endpoint, Price, SummarySettings
from bot.engine import errors
from bot.engine.accounting.pricing import cost_usd
from bot.engine.accounting.tokens import TokenCounter, measure_usage
from bot.engine.conversation.context import Limits, Message, build_messages, history_window
from bot.engine.conversation.export import Exporter
from bot.engine.conversation.ordering import ChatLocks
from bot.engine.conversation.recovery import Action, action_for
from bot.engine.conversation.summary import Summarizer, SummaryPolicy, unsummarised
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models.client import ChatModel, Completion, OnDelta
from bot.engine.profiles.personas import PersonaBook, load_personas
from bot.engine.profiles.profiles import ChatProfile, Profiles
from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.records import ChatStats, NewTurn, Turn, Usage
from bot.storage.repositories import Stores

log = get_logger(__name__)


@dataclass(frozen=True)
class Reply:
    """A generated answer, stored, waiting to be delivered by the channel."""

    turn: Turn
    text: str
    usage: Usage
    completion: Completion


@dataclass(frozen=True)
class StatsView:
    """What /stats shows for a chat."""

    stats: ChatStats
    model: str
    priced: bool  # whether a price is configured for the chat's model


class Conversation:
    """The channel-agnostic engine: every channel talks to the model through this."""

    def __init__(
        self,
        stores: Stores,
        llm: ChatModel,
        endpoint: Endpoint,
        settings: ConversationSettings,
        *,
        summary: SummarySettings,
        prices: Mapping[str, Price],
        personas: PersonaBook | None = None,
        clock: Callable[[], float] = time.time,
        events: EngineEvents = NO_EVENTS,
    ) -> None:
        """`endpoint` names the models a chat may choose; `prices` (MODEL_PRICES) price the
        usage; `personas` defaults to the shipped set (the wiring reads PERSONAS_FILE)."""
        self._turns = stores.turns
        self._chats = stores.chats
        self.llm = llm
        self.endpoint = endpoint
        self.settings = settings
        self.prices = prices
        self.locks = ChatLocks()
        self._clock = clock
        self._events = events  # answers, delivered answers, failed turns
        self._unrecorded: set[int] = set()  # turns delivered whose record the database refused
        self._limits = Limits(
            max_messages=settings.max_history_messages,
            max_prompt_tokens=settings.max_prompt_tokens,
        )
        # Conversation controls (issue 9): personas, system prompts, summaries, token counting.
        self.tokens = TokenCounter(stores.calibrations, clock=clock)
        self.profiles = Profiles(stores.chats, endpoint, settings, personas or load_personas(None))
        self.summaries = Summarizer(
            llm,
            turns=stores.turns,
            summaries=stores.summaries,
            usage=stores.usage,
            policy=SummaryPolicy.from_settings(summary, settings.max_context_tokens),
            prices=prices,
            profiles=self.profiles,
            tokens=self.tokens,
            limits=self._limits,
            clock=clock,
        )
        self.exports = Exporter(
            stores.turns,
            self.summaries.current,
            self.profiles.resolve,
            max_bytes=settings.export_max_bytes,
            clock=clock,
        )

    async def close(self) -> None:
        """Stop background work (summaries in flight) before storage and client close."""
        await self.summaries.close()

    @property
    def models(self) -> list[str]:
        return list(self.endpoint.models)

    async def model_for(self, chat_id: str) -> str:
        return (await self.profiles.resolve(chat_id)).model

    async def set_model(self, chat_id: str, name: str) -> str:
        """Switch a chat to one of the configured models; raises UnknownModel otherwise."""
        wanted = name.strip()
        match = next((m for m in self.models if m.lower() == wanted.lower()), None)
        if match is None:
            raise errors.UnknownModel(wanted, self.models)
        await self._chats.set_model(chat_id, match)
        log.info("model_switched", chat_key=chat_id, model=match)
        return match

    async def clear(self, chat_id: str) -> int:
        removed = await self._turns.clear_chat(chat_id)
        log.info("history_cleared", chat_key=chat_id, turns=removed)
        return removed

    async def history(self, chat_id: str, limit: int) -> list[Turn]:
        """The chat's newest `limit` answered turns, oldest first (shown on resuming a chat)."""
        return await self._turns.recent(chat_id, limit)

    async def stats(self, chat_id: str) -> StatsView:
        model = await self.model_for(chat_id)
        priced = cost_usd(self.prices, model, 0, 0) is not None
        return StatsView(await self._chats.stats(chat_id), model, priced)

    async def submit(self, new: NewTurn) -> Turn | None:
        """Store a user's message before anything else happens; None for a re-delivery."""
        turn = await self._turns.add(new, now=self._clock())
        if turn is None:
            log.info("duplicate_message_ignored", source_key=new.source_key)
        return turn

    def too_old(self, turn: Turn) -> bool:
        """Whether the turn's message waited too long (the bot was down) to be answered now."""
        return self.recovery_action(turn) is Action.EXPIRE

    async def retry(self, chat_id: str, source_key: str | None = None) -> Turn | None:
        """Store the chat's last question again, as a turn that replaces the last answer.

        Until the new answer is delivered the old one stays in the history (a failed retry
        loses nothing); then it is replaced. None for a re-delivered command.
        """
        last = await self._turns.last_finished(chat_id)
        if last is None:
            raise errors.NothingToRetry()
        turn = await self.submit(
            NewTurn(
                chat_id=chat_id,
                user_text=last.user_text,
                source_key=source_key,
                reply_to=last.reply_to,
                user_id=last.user_id,
                speaker=last.speaker,
                replaces=last.id,
            )
        )
        if turn is not None:
            log.info("retry_requested", chat_key=chat_id, turn_id=turn.id, replaces=last.id)
        return turn

    async def generate(
        self,
        turn: Turn,
        on_delta: OnDelta | None = None,
        *,
        on_generated: Callable[[], None] | None = None,
    ) -> Reply:
        """Ask the model for the turn's answer and store it (not yet delivered).

        `on_generated` is called as soon as the model's answer is complete, before it is
        stored, so that a channel stops showing partial text that is about to be replaced.
        On failure the turn is marked failed, the outcome is logged, and the `ModelError`
        propagates so the channel can show its `user_message`.
        """
        started = time.monotonic()
        profile = await self.profiles.resolve(turn.chat_id)
        model = profile.model
        try:
            messages = await self._messages(turn, self._limits, profile)
            try:
                completion = await self._complete(messages, profile, on_delta)
            except errors.ContextTooLong:
                log.info("context_trimmed_harder", model=model)
                harder = Limits(
                    max_messages=max(1, self._limits.max_messages // 4),
                    max_prompt_tokens=self._limits.max_prompt_tokens // 2,
                )
                messages = await self._messages(turn, harder, profile)
                completion = await self._complete(messages, profile, on_delta)
        except errors.ModelError as exc:
            await self.failed(turn, exc, model=model, latency_s=time.monotonic() - started)
            raise
        except Exception:
            # A bug of ours: the turn must not stay pending (and be retried forever).
            await self.failed(turn, errors.BotError(), model=model)
            raise
        if on_generated is not None:
            on_generated()
        model = completion.model or model  # the fallback's, when it answered
        usage = await self._usage(model, messages, completion)
        self._report_answer(completion, usage)
        await self._turns.save_answer(turn.id, completion.text, usage, now=self._clock())
        return Reply(
            replace(turn, answer=completion.text, model=model), completion.text, usage, completion
        )

    def _report_answer(self, completion: Completion, usage: Usage) -> None:
        self._events.model_answered(
            model=usage.model,
            latency_s=completion.latency_s,
            ttft_s=completion.ttft_s,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
        )

    async def _messages(self, turn: Turn, limits: Limits, profile: ChatProfile) -> list[Message]:
        """The system prompt (never trimmed), the summary, the newest turns after it, `turn`."""
        summary = await self.summaries.current(turn.chat_id)
        window = history_window(limits) + (1 if turn.replaces is not None else 0)
        history = await self._turns.recent(turn.chat_id, window)
        # A retry is asked as if the answer it replaces had never been given.
        history = [t for t in history if t.id != turn.replaces]
        return build_messages(
            profile.system_prompt,
            unsummarised(summary, history),
            turn,
            limits,
            summary=summary.text if summary else None,
            counter=await self.tokens.counter(profile.model),
        )

    async def _complete(
        self, messages: list[Message], profile: ChatProfile, on_delta: OnDelta | None
    ) -> Completion:
        completion = await self.llm.complete(
            messages,
            model=profile.model,
            max_tokens=self.settings.max_output_tokens,
            temperature=profile.temperature,
            on_delta=on_delta,
        )
        if not completion.text.strip():
            raise errors.EmptyAnswer()
        return completion

    async def _usage(self, model: str, messages: list[Message], completion: Completion) -> Usage:
        """The provider's usage (which calibrates our estimates), or our calibrated estimate."""
        if completion.usage is not None:
            await self.tokens.observe(model, messages, completion.usage.prompt_tokens)
        counter = await self.tokens.counter(model)
        return measure_usage(model, messages, completion, counter, self.prices)

    async def delivered(self, reply: Reply) -> None:
        """The channel showed the answer: the turn joins the chat's history."""
        await self.record_delivery(reply.turn)
        self._events.answer_delivered()
        self.summaries.schedule(reply.turn.chat_id)  # in the background, after delivery
        c = reply.completion
        log.info(
            "reply_finished",
            outcome="answered",
            chat_key=reply.turn.chat_id,
            turn_id=reply.turn.id,
            model=reply.usage.model,
            latency_ms=round(c.latency_s * 1000, 1),
            ttft_ms=None if c.ttft_s is None else round(c.ttft_s * 1000, 1),
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            usage_estimated=reply.usage.estimated,
            cost_usd=reply.usage.cost_usd,
            attempts=c.attempts,
        )

    async def delivered_late(self, turn: Turn) -> None:
        """A stored answer (from before a crash or a failed delivery) has now been shown."""
        await self.record_delivery(turn)
        log.info(
            "reply_finished",
            outcome="answered",
            chat_key=turn.chat_id,
            turn_id=turn.id,
            model=turn.model,
            recovered=True,
        )

    async def record_delivery(self, turn: Turn) -> None:
        """Mark the turn answered. The user has the answer already, so a database that refuses
        is not their problem: the turn is remembered and recorded by a later recovery sweep,
        without sending the answer again."""
        try:
            await self._turns.mark_answered(turn.id, now=self._clock())
        except StorageError as exc:
            self._unrecorded.add(turn.id)
            log.warning("delivery_unrecorded", turn_id=turn.id, error=str(exc))
            return
        self._unrecorded.discard(turn.id)

    async def undeliverable(self, turn: Turn) -> None:
        """The channel refused the turn's answer for good: fail it unless already settled."""
        current = await self._turns.get(turn.id)
        if current is not None and current.unfinished:
            await self.failed(current, errors.Undeliverable(), model=current.model)

    async def unfinished(self) -> list[Turn]:
        """Every turn not yet settled (after a crash, a shutdown or a failed delivery)."""
        return await self._turns.unfinished()

    async def ready_to_answer(self, turn: Turn) -> None:
        """Raise StorageError unless the database takes writes (so the answer could be kept):
        a turn is not sent to the model again while the disk is full."""
        await self._turns.touch(turn.id, now=self._clock())

    async def current(self, turn_id: int) -> Turn | None:
        """The turn as stored now."""
        return await self._turns.get(turn_id)

    def age(self, turn: Turn) -> float:
        """Seconds since the turn's message was sent."""
        return self._clock() - turn.created_at

    def recovery_action(self, turn: Turn) -> Action:
        """How an unfinished turn is to be finished now (see engine/recovery.py)."""
        return action_for(
            turn,
            now=self._clock(),
            max_age=self.settings.pending_max_age_seconds,
            delivered=turn.id in self._unrecorded,
        )

    async def failed(
        self,
        turn: Turn,
        error: errors.BotError,
        *,
        model: str | None = None,
        latency_s: float | None = None,
    ) -> None:
        """The turn could not be answered; it stays out of the model's context for good."""
        await self._turns.mark_failed(turn.id, error.error_type, now=self._clock())
        self._events.turn_failed(error_type=error.error_type)
        log.warning(
            "reply_finished",
            outcome="failed",
            chat_key=turn.chat_id,
            turn_id=turn.id,
            model=model,
            latency_ms=None if latency_s is None else round(latency_s * 1000, 1),
            error_type=error.error_type,
            attempts=error.attempts if isinstance(error, errors.ModelError) else None,
        )
