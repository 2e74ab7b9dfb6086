"""What the catalogue tells the rest of the engine: each model's capabilities and prices."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import ModelSettings, Price
from bot.config.providers import Catalogue, CatalogueModel
from bot.engine.models.capabilities import Capabilities, CapabilityMap, matches


def capability_map(catalogue: Catalogue, model: ModelSettings) -> CapabilityMap:
    """The catalogue's word on each of its models (a capability it leaves out is answered by
    VISION_MODELS / TOOL_MODELS), the patterns for any other model."""
    known = {
        m.name: _capabilities(m, model) for provider in catalogue.providers for m in provider.models
    }
    return CapabilityMap(vision=model.vision_models, tools=model.tool_models, known=known)


def _capabilities(entry: CatalogueModel, model: ModelSettings) -> Capabilities:
    vision = entry.vision if entry.vision is not None else matches(entry.id, model.vision_models)
    tools = entry.tools if entry.tools is not None else matches(entry.id, model.tool_models)
    return Capabilities(
        vision=vision, audio=bool(entry.audio), tools=tools, reasoning=bool(entry.reasoning)
    )


def prices(catalogue: Catalogue, model: ModelSettings) -> Mapping[str, Price]:
    """MODEL_PRICES over the catalogue's prices (the environment has the last word)."""
    return {**catalogue.prices(), **model.model_prices}
