"""The catalogue's word on capabilities and prices, fed into CapabilityMap and the pricing."""

from __future__ import annotations

import pytest

from bot.config import ModelSettings, Price
from bot.config.providers import Catalogue, CatalogueModel, Provider
from bot.engine.providers.catalogue import capability_map, prices

MODELS = (
    CatalogueModel("mini", "gpt-4o-mini", tools=False, price=Price(1, 2)),
    CatalogueModel("thinker", "qwq-32b", reasoning=True, audio=True),
    CatalogueModel("plain", "my-own-model", vision=True),
)
CATALOGUE = Catalogue((Provider(name="p", base_url=None, api_key=None, models=MODELS),), "mini")


@pytest.fixture
def settings(clean_env: pytest.MonkeyPatch) -> ModelSettings:
    return ModelSettings(model_prices={"plain": Price(5, 5), "mini": Price(3, 4)})


class TestCapabilities:
    def test_the_catalogue_first_then_the_patterns(self, settings: ModelSettings) -> None:
        """A flag the entry gives wins; one it leaves out comes from the patterns of its id."""
        known = capability_map(CATALOGUE, settings)
        mini = known.of("mini")
        assert (mini.vision, mini.tools) == (True, False)  # vision by pattern, tools by the file
        thinker = known.of("thinker")
        assert (thinker.reasoning, thinker.audio, thinker.marks()) == (True, True, "🎤💭")
        assert known.of("plain").marks() == "👁"
        assert known.of("gpt-4o").vision  # not in the catalogue: the patterns
        assert known.which(["mini", "thinker", "plain"], vision=True) == ["mini", "plain"]


class TestPrices:
    def test_model_prices_win_over_the_file(self, settings: ModelSettings) -> None:
        """MODEL_PRICES has the last word; the catalogue prices the rest."""
        assert prices(CATALOGUE, settings) == {"mini": Price(3, 4), "plain": Price(5, 5)}
