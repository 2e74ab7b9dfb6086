"""A turn's life, independent of any chat channel.

store the user's message -> build the context -> call the model -> store the answer ->
the channel delivers it -> mark it answered (or failed, with a short message for the user).

Asking the model lives in generation.py, a chat's controls (model, clear, export, stats) in
controls.py; `Conversation` holds the turn's states and what recovery needs to finish them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace

from bot.config import ConversationSettings, Endpoint, Price, SummarySettings
from bot.engine import errors
from bot.engine.accounting.tokens import TokenCounter
from bot.engine.conversation import identity, outcomes
from bot.engine.conversation.context import Limits
from bot.engine.conversation.controls import ChatControls, StatsView
from bot.engine.conversation.conversations import Conversations
from bot.engine.conversation.editing import EditedQuestions
from bot.engine.conversation.folding import SummaryPolicy
from bot.engine.conversation.generation import Generator, TurnContents
from bot.engine.conversation.ordering import ChatLocks
from bot.engine.conversation.recovery import Action, action_for
from bot.engine.conversation.replies import Reply
from bot.engine.conversation.stopping import InFlight, Stopped
from bot.engine.conversation.summary import Summarizer
from bot.engine.conversation.titles import TitlePolicy, Titler
from bot.engine.events import NO_EVENTS, EngineEvents
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.models.completion import ChatModel, OnDelta
from bot.engine.policy.budgets import UNLIMITED, Spending
from bot.engine.profiles.personas import PersonaBook
from bot.engine.profiles.profiles import Profiles
from bot.engine.tools.loop import OnToolCall, ToolLoop
from bot.engine.tools.stored import stored
from bot.observability.logs import get_logger
from bot.storage.errors import StorageError
from bot.storage.records import NewTurn, Turn
from bot.storage.repositories import Stores

__all__ = ["Conversation", "Reply", "StatsView"]

log = get_logger(__name__)


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
        spending: Spending = UNLIMITED,
        capabilities: CapabilityMap | None = None,
        tools: ToolLoop | None = None,
        contents: TurnContents | None = None,  # files shown to the model (engine/media)
    ) -> None:
        """`endpoint`: the models a chat may choose; `prices` price the usage; `personas`
        defaults to the shipped set; `spending` holds request estimates against the budgets."""
        self._turns, self.settings, self.tools = stores.turns, settings, tools  # None: no MCP
        self.capabilities = capabilities or CapabilityMap()  # what each model can do
        self.locks, self.in_flight = ChatLocks(), InFlight()  # in_flight: what /stop can stop
        self.edits = EditedQuestions.from_settings(stores.turns, settings, clock)
        self._clock, self._events = clock, events  # events: answers, deliveries, failures
        self._unrecorded: set[int] = set()  # turns delivered whose record the database refused
        self._limits = Limits(settings.max_history_messages, settings.max_prompt_tokens)
        self.tokens = TokenCounter(stores.calibrations, clock=clock)
        self.profiles = Profiles(stores.chats, endpoint, settings, personas, identity.base_key)
        self.summaries = self._summarizer(stores, llm, summary, prices)
        self.conversations = self._conversations(stores, summary)  # /new, /chats
        self.controls = self._controls(stores, endpoint, prices)
        self._generator = Generator(
            llm,
            turns=stores.turns,
            summaries=self.summaries,
            tokens=self.tokens,
            limits=self._limits,
            max_output_tokens=settings.max_output_tokens,
            prices=prices,
            events=events,
            spending=spending,
            tools=tools,
            contents=contents,
        )

    def _controls(
        self, stores: Stores, endpoint: Endpoint, prices: Mapping[str, Price]
    ) -> ChatControls:
        return ChatControls(
            turns=stores.turns,
            chats=stores.chats,
            endpoint=endpoint,
            profiles=self.profiles,
            summaries=self.summaries,
            prices=prices,
            export_max_bytes=self.settings.export_max_bytes,
            clock=self._clock,
            capabilities=self.capabilities,
        )

    def _conversations(self, stores: Stores, summary: SummarySettings) -> Conversations:
        policy = TitlePolicy.from_settings(self.settings, summary)
        return Conversations(stores, Titler(self.summaries, policy, stores), clock=self._clock)

    def _summarizer(
        self, stores: Stores, llm: ChatModel, summary: SummarySettings, prices: Mapping[str, Price]
    ) -> Summarizer:
        return Summarizer(
            llm,
            turns=stores.turns,
            summaries=stores.summaries,
            usage=stores.usage,
            policy=SummaryPolicy.from_settings(summary, self.settings.max_context_tokens),
            prices=prices,
            profiles=self.profiles,
            tokens=self.tokens,
            limits=self._limits,
            clock=self._clock,
        )

    async def close(self) -> None:
        """Stop background work (summaries, titles) before storage and client close."""
        await self.summaries.close()
        await self.conversations.titles.close()

    async def submit(self, new: NewTurn) -> Turn | None:
        """Store a user's message before anything else happens; None for a re-delivery."""
        turn = await self._turns.add(new, now=self._clock())
        if turn is None:
            log.info("duplicate_message_ignored", source_key=new.source_key)
        return turn

    def stop(self, chat_key: str, turn_id: int | None = None) -> Turn | None:
        """Stop the chat's answer in flight (see stopping.py): the turn stopped, or None."""
        return self.in_flight.stop(chat_key, turn_id)

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
                quote=last.quote,
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
        on_tool: OnToolCall | None = None,
    ) -> Reply:
        """Ask the model for the turn's answer and store it (not yet delivered).

        `on_generated` is called as soon as the answer is complete, before it is stored, so that
        a channel stops showing partial text about to be replaced. Stopped (`stop`), the part
        already written is the answer, marked as stopped. On failure the turn is marked failed,
        the outcome is logged, and the `ModelError` propagates (the channel shows its
        `user_message`). Its estimated cost is held against the budgets until the usage is stored
        (`errors.OverBudget` if one is used up); `on_tool` hears of each tool call as it starts."""
        started = time.monotonic()
        profile = await self.profiles.resolve(turn.chat_id)
        model = profile.model
        async with AsyncExitStack() as held:  # the budget hold, until the usage is stored
            try:
                generated = await self._generator.within(
                    turn,
                    profile,
                    on_delta,
                    held=held,
                    in_flight=self.in_flight,
                    limit=self.settings.model_turn_timeout,
                    on_tool=on_tool,
                )
            except Stopped as stop:  # the part written is kept as the answer
                generated = self._generator.stopped(stop.progress, model, started=started)
                outcomes.stopped(turn, generated.completion)
            except errors.ModelError as exc:
                await self.failed(turn, exc, model=model, latency_s=time.monotonic() - started)
                raise
            except Exception:
                # A bug of ours: the turn must not stay pending (and be retried forever).
                await self.failed(turn, errors.BotError(), model=model)
                raise
            if on_generated is not None:
                on_generated()
            completion, text = generated.completion, generated.completion.text
            model = completion.model or model  # the fallback's, when it answered
            usage = await self._generator.account(model, generated)
            calls, now = stored(generated.exchange), self._clock()  # tool calls kept, if any
            await self._turns.save_answer(turn.id, text, usage, now=now, tool_calls=calls)
        answered = replace(turn, answer=text, model=model, tool_calls=calls)
        return Reply(answered, text, usage, completion)

    async def delivered(self, reply: Reply) -> None:
        """The channel showed the answer: the turn joins the chat's history."""
        await self.record_delivery(reply.turn)
        self._events.answer_delivered()
        # In the background, after delivery; its usage is charged to who asked this turn.
        self.summaries.schedule(reply.turn.chat_id, user_id=reply.turn.user_id)
        self.conversations.answered(reply.turn)
        outcomes.answered(reply.turn, reply.usage, reply.completion)

    async def delivered_late(self, turn: Turn) -> None:
        """A stored answer (from before a crash or a failed delivery) has now been shown."""
        await self.record_delivery(turn)
        outcomes.answered_late(turn)

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
        outcomes.failed(turn, error, model=model, latency_s=latency_s)
