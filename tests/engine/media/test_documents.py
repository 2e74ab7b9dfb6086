"""Reading documents: which files are text, encodings, PDFs, and cutting long ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.media import documents, errors


class TestKinds:
    @pytest.mark.parametrize(
        ("name", "mime"),
        [("a.py", None), ("log", "text/plain"), ("x.json", "application/json"), ("r.pdf", None),
         ("Dockerfile", None)],
    )  # fmt: skip
    def test_readable(self, name: str, mime: str | None) -> None:
        """Text of any kind and PDFs are readable, by type or by name."""
        assert documents.readable(name, mime)

    @pytest.mark.parametrize(
        ("name", "mime"),
        [("a.zip", "application/zip"), ("setup.exe", "application/x-msdownload"),
         ("song.flac", "audio/flac"), ("noname", None)],
    )  # fmt: skip
    def test_not_readable(self, name: str, mime: str | None) -> None:
        """Archives, executables and unknown binaries are refused before download."""
        assert not documents.readable(name, mime)


class TestExtract:
    def test_utf16_with_bom(self) -> None:
        """UTF-16 with a byte-order mark is text, not binary."""
        assert documents.extract("héllo wörld".encode("utf-16"), "a.txt", "text/plain") == (
            "héllo wörld"
        )

    def test_empty_is_undecodable(self) -> None:
        """An empty or blank file has no text to read."""
        with pytest.raises(errors.Undecodable):
            documents.extract(b"  \n", "a.txt", "text/plain")

    def test_broken_pdf_has_no_text(self) -> None:
        """A file that says it is a PDF but is not one: no text."""
        with pytest.raises(errors.NoText):
            documents.extract(b"%PDF-1.7 garbage", "a.pdf", "application/pdf")


class TestCut:
    def test_short_text_is_whole(self) -> None:
        """Within the limit nothing is cut and there is no note."""
        assert documents.cut("short", 100, "a.txt") == documents.Cut("short", None)

    @given(st.text(min_size=1, max_size=3000), st.integers(min_value=1, max_value=300))
    def test_never_more_than_the_limit(self, text: str, tokens: int) -> None:
        """The text kept is a prefix within four characters a token, noted when cut."""
        cut = documents.cut(text, tokens, "f")
        assert text.startswith(cut.text)
        assert len(cut.text) <= tokens * 4
        assert (cut.note is None) == (cut.text == text)
