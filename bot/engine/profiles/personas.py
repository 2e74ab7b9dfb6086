"""Personas: named presets of a system prompt, optionally with a preferred model and temperature.

They are read from a TOML file the operator edits (`PERSONAS_FILE`); without one, the set
shipped in `personas.toml` next to this module applies. Each top-level table is a persona:

    [coder]
    description = "Programming help: precise, with code"
    system_prompt = "You are a senior software engineer..."
    model = "gpt-4o"        # optional; used only if it is one of OPENAI_MODELS
    temperature = 0.2       # optional; TEMPERATURE otherwise

A persona without `system_prompt` uses SYSTEM_PROMPT.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_KEYS = {"description", "system_prompt", "model", "temperature"}
RESERVED_NAMES = frozenset({"reset"})  # `/persona reset` goes back to no persona


class PersonaFileError(ValueError):
    """The personas file cannot be used; the message says where and why, in plain words."""


@dataclass(frozen=True)
class Persona:
    name: str
    description: str
    system_prompt: str | None = None  # None: SYSTEM_PROMPT
    model: str | None = None
    temperature: float | None = None


class PersonaBook:
    """The personas on offer, in the file's order; names match case-insensitively."""

    def __init__(self, personas: list[Persona]) -> None:
        self._by_key = {p.name.lower(): p for p in personas}
        self.personas = list(personas)

    def get(self, name: str) -> Persona | None:
        return self._by_key.get(name.strip().lower())

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.personas]

    def __iter__(self) -> Iterator[Persona]:
        return iter(self.personas)

    def __len__(self) -> int:
        return len(self.personas)


def _text(entry: Mapping[str, object], key: str, where: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PersonaFileError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _temperature(entry: Mapping[str, object], where: str) -> float | None:
    value = entry.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise PersonaFileError(f"{where}: 'temperature' must be a number from 0 to 2")
    return float(value)


def _persona(name: str, entry: object, source: str) -> Persona:
    where = f"{source}: persona '{name}'"
    if not _NAME.match(name) or name.lower() in RESERVED_NAMES:
        raise PersonaFileError(
            f"{where}: a name is 1-32 letters, digits, '_' or '-' (and not 'reset')"
        )
    if not isinstance(entry, dict):
        raise PersonaFileError(f"{where}: must be a table ([{name}])")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise PersonaFileError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    description = _text(entry, "description", where, required=True)
    assert description is not None
    return Persona(
        name=name,
        description=description,
        system_prompt=_text(entry, "system_prompt", where, required=False),
        model=_text(entry, "model", where, required=False),
        temperature=_temperature(entry, where),
    )


def parse_personas(text: str, source: str = "personas file") -> PersonaBook:
    """Parse and check a personas file; raises PersonaFileError naming the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PersonaFileError(f"{source}: not valid TOML ({exc})") from None
    personas = [_persona(name, entry, source) for name, entry in data.items()]
    if not personas:
        raise PersonaFileError(f"{source}: defines no persona")
    names = [p.name.lower() for p in personas]
    if len(set(names)) != len(names):
        raise PersonaFileError(f"{source}: two personas differ only in letter case")
    return PersonaBook(personas)


def default_personas_text() -> str:
    return (resources.files("bot.engine.profiles") / "personas.toml").read_text(encoding="utf-8")


def load_personas(path: Path | None) -> PersonaBook:
    """The operator's personas file, or the shipped set when `path` is None."""
    if path is None:
        return parse_personas(default_personas_text(), "the default personas")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaFileError(f"{path}: cannot be read ({type(exc).__name__})") from None
    return parse_personas(text, str(path))
