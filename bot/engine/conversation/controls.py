"""A chat's controls, apart from its turns: the model it uses, clearing, history, export, stats.

Channels reach them as `conversation.controls`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.config import Endpoint, Price
from bot.engine import errors
from bot.engine.accounting.pricing import cost_usd
from bot.engine.conversation.export import Exporter, ExportFile, Format
from bot.engine.conversation.summary import Summarizer
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.profiles.profiles import Profiles
from bot.observability.logs import get_logger
from bot.storage.records import ChatStats, Turn
from bot.storage.repositories import ChatRepository, TurnRepository

log = get_logger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """One model /model offers: its name, its provider (None with one provider), its marks."""

    name: str
    provider: str | None
    marks: str


@dataclass(frozen=True)
class StatsView:
    """What /stats shows for a chat."""

    stats: ChatStats
    model: str
    priced: bool  # whether a price is configured for the chat's model


class ChatControls:
    """What a chat's users change or ask about, other than asking the model."""

    def __init__(
        self,
        *,
        turns: TurnRepository,
        chats: ChatRepository,
        endpoint: Endpoint,
        profiles: Profiles,
        summaries: Summarizer,
        prices: Mapping[str, Price],
        export_max_bytes: int,
        clock: Callable[[], float],
        capabilities: CapabilityMap | None = None,
    ) -> None:
        self._turns = turns
        self._chats = chats
        self._endpoint = endpoint
        self._profiles = profiles
        self._summaries = summaries
        self._prices = prices
        self._clock = clock
        self._capabilities = capabilities or CapabilityMap()
        self._exports = Exporter(
            turns, summaries.current, profiles.resolve, max_bytes=export_max_bytes, clock=clock
        )

    @property
    def models(self) -> list[str]:
        """The models a chat may choose (the endpoint's, in its order)."""
        return list(self._endpoint.models)

    @property
    def choices(self) -> list[ModelChoice]:
        """The models on offer, provider by provider, with their capability marks."""
        provider = {m: p for p, models in self._endpoint.groups for m in models}
        return [
            ModelChoice(m, provider.get(m), self._capabilities.of(m).marks()) for m in self.models
        ]

    async def model_for(self, chat_id: str) -> str:
        return (await self._profiles.resolve(chat_id)).model

    async def set_model(self, chat_id: str, name: str) -> str:
        """Switch a chat to one of the configured models; raises UnknownModel otherwise."""
        wanted = name.strip()
        match = next((m for m in self.models if m.lower() == wanted.lower()), None)
        if match is None:
            raise errors.UnknownModel(wanted, self.models)
        await self._chats.set_model(self._profiles.settings_key(chat_id), match)
        log.info("model_switched", chat_key=chat_id, model=match)
        return match

    async def clear(self, chat_id: str) -> int:
        """Forget the chat's turns; the number of turns removed."""
        removed = await self._turns.clear_chat(chat_id)
        log.info("history_cleared", chat_key=chat_id, turns=removed)
        return removed

    async def history(self, chat_id: str, limit: int) -> list[Turn]:
        """The chat's newest `limit` answered turns, oldest first (shown on resuming a chat)."""
        return await self._turns.recent(chat_id, limit)

    async def export(self, chat_id: str, fmt: Format) -> ExportFile | None:
        """The chat's stored history as a file (paged into a spooled file, cut at
        EXPORT_MAX_BYTES with a note); None when there is nothing to export."""
        return await self._exports.export(chat_id, fmt)

    async def stats(self, chat_id: str) -> StatsView:
        """The chat's totals, its model, and whether that model has a price."""
        model = await self.model_for(chat_id)
        priced = cost_usd(self._prices, model, 0, 0) is not None
        return StatsView(await self._chats.stats(chat_id), model, priced)
