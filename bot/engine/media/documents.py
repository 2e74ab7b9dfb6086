"""A document's text: plain text of any encoding, or the text layer of a PDF.

charset-normalizer guesses a text file's encoding (what requests and httpx use); pypdf reads
PDFs in pure Python. Both are imported only when a document arrives.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.engine.media import errors

PDF = "application/pdf"
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/javascript",
        "application/x-sh",
        "application/x-python",
        "application/sql",
        "application/csv",
        "application/x-ndjson",
    }
)
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".csv",
        ".tsv",
        ".json",
        ".jsonl",
        ".ndjson",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".log",
        ".xml",
        ".html",
        ".htm",
        ".css",
        ".js",
        ".ts",
        ".tsx",
        ".jsx",
        ".py",
        ".rb",
        ".go",
        ".rs",
        ".java",
        ".kt",
        ".c",
        ".h",
        ".cpp",
        ".hpp",
        ".cs",
        ".php",
        ".sh",
        ".bash",
        ".zsh",
        ".sql",
        ".swift",
        ".scala",
        ".lua",
        ".pl",
        ".r",
        ".tex",
        ".srt",
        ".vtt",
        ".env",
        ".properties",
        ".gradle",
        ".dockerfile",
        ".makefile",
        ".diff",
        ".patch",
    ]
)
PAGES_MAX = 500  # a PDF longer than this is read up to here


def is_pdf(name: str | None, mime_type: str | None) -> bool:
    return mime_type == PDF or (name or "").lower().endswith(".pdf")


def is_text(name: str | None, mime_type: str | None) -> bool:
    """Whether a file announces itself as text (its type, or failing that its name)."""
    mime = (mime_type or "").lower()
    if mime.startswith("text/") or mime in TEXT_TYPES:
        return True
    path = PurePosixPath((name or "").lower())
    return path.suffix in TEXT_SUFFIXES or path.name in {"dockerfile", "makefile", "readme"}


def readable(name: str | None, mime_type: str | None) -> bool:
    """Whether a document is of a kind whose text can be read (checked before download)."""
    return is_pdf(name, mime_type) or is_text(name, mime_type)


def extract(data: bytes, name: str | None, mime_type: str | None) -> str:
    """The document's text; raises NoText (PDF without a text layer, or encrypted),
    Undecodable (not text in any encoding) or Unsupported."""
    if data.startswith(b"%PDF") or is_pdf(name, mime_type):
        return _pdf_text(data)
    if is_text(name, mime_type):
        return _decoded(data)
    raise errors.Unsupported()


def _decoded(data: bytes) -> str:
    if not data.strip():
        raise errors.Undecodable()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise errors.Undecodable()  # binary, whatever its name says
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only when a document arrives

    best = from_bytes(data).best()
    if best is None:
        raise errors.Undecodable()
    return str(best)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # noqa: PLC0415 - only when a PDF arrives
    from pypdf.errors import PdfReadError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise errors.NoText()
        pages = [page.extract_text() or "" for page in reader.pages[:PAGES_MAX]]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise errors.NoText() from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise errors.NoText()
    return text


@dataclass(frozen=True)
class Cut:
    """A document's text as the model is given it, and what the user is told about it."""

    text: str
    note: str | None  # set when the text was cut


def cut(text: str, max_tokens: int, name: str) -> Cut:
    """At most `max_tokens` (about four characters each) of `text`, cut at a line end."""
    limit = max_tokens * 4
    if len(text) <= limit:
        return Cut(text, None)
    kept = text[:limit]
    line_end = kept.rfind("\n")
    if line_end > limit // 2:
        kept = kept[:line_end]
    percent = max(1, round(100 * len(kept) / len(text)))
    note = (
        f"{name} is long: I read the first {percent}% of it ({len(kept):,} of "
        f"{len(text):,} characters)."
    )
    return Cut(kept, note)


def framed(name: str, text: str, note: str | None) -> str:
    """The document as part of the question: headed by its name, marked as data."""
    cut_mark = "\n[… the rest of the file was cut]" if note else ""
    return f'<document name="{name}">\n{text}{cut_mark}\n</document>'
