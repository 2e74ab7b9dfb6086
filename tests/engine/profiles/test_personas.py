"""Personas: the shipped set and the checks on an operator's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.profiles.personas import PersonaFileError, load_personas, parse_personas


class TestShippedSet:
    def test_loads_and_offers_the_usual_personas(self) -> None:
        """The default file parses and offers assistant, concise, coder, translator, tutor."""
        book = load_personas(None)
        assert {"assistant", "concise", "coder", "translator", "tutor"} <= set(book.names)
        assert all(p.description for p in book)

    def test_assistant_uses_the_configured_prompt(self) -> None:
        """The assistant persona has no prompt of its own: SYSTEM_PROMPT applies."""
        assistant = load_personas(None).get("assistant")
        assert assistant is not None and assistant.system_prompt is None

    def test_names_match_without_case(self) -> None:
        """Lookup ignores letter case and surrounding spaces; unknown names give None."""
        book = load_personas(None)
        coder = book.get("  CoDeR ")
        assert coder is not None and coder.name == "coder"
        assert book.get("ninja") is None


class TestOperatorFile:
    def test_all_fields(self, tmp_path: Path) -> None:
        """A persona carries description, prompt, model and temperature, in file order."""
        path = tmp_path / "p.toml"
        path.write_text(
            '[b]\ndescription = "B"\n[a]\ndescription = "A"\nsystem_prompt = " Hi "\n'
            'model = "m"\ntemperature = 1\n',
            encoding="utf-8",
        )
        book = load_personas(path)
        assert book.names == ["b", "a"]
        a = book.get("a")
        assert a is not None
        assert (a.system_prompt, a.model, a.temperature) == ("Hi", "m", 1.0)

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("[a\n", "not valid TOML"),
            ("", "defines no persona"),
            ('[a]\nprompt = "x"\ndescription = "d"\n', "unknown key(s) prompt"),
            ("[a]\n", "'description' must be a non-empty string"),
            ('[a]\ndescription = "d"\ntemperature = 3\n', "from 0 to 2"),
            ('[a]\ndescription = "d"\ntemperature = true\n', "from 0 to 2"),
            ('[reset]\ndescription = "d"\n', "not 'reset'"),
            ('["a b"]\ndescription = "d"\n', "1-32 letters"),
            ('[A]\ndescription = "d"\n[a]\ndescription = "e"\n', "letter case"),
            ('a = "x"\n', "must be a table"),
        ],
    )
    def test_problems_are_named(self, text: str, problem: str) -> None:
        """Each kind of mistake is refused with a message saying what is wrong."""
        with pytest.raises(PersonaFileError, match="personas file") as caught:
            parse_personas(text)
        assert problem in str(caught.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is refused, naming the path."""
        with pytest.raises(PersonaFileError, match="cannot be read"):
            load_personas(tmp_path / "nope.toml")
