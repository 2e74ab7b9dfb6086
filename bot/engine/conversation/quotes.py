"""Quoted replies: the message a question replies to, as the model is shown it.

A quote is untrusted data (anyone in a group wrote it), so it travels inside the user's own
message, never as a system message, and every one of its lines starts with "> " so that
nothing in it can pass for the question, the attribution line or a speaker's "Name:" line.
It is bounded before it is stored, so a stored turn is the question the model saw.
"""

from __future__ import annotations

from bot.engine.text import clean_speaker, clean_text
from bot.storage.records import Quote

QUOTE_MAX_CHARS = 4_000  # Telegram's own limit is 4,096 for a text, 1,024 for a caption
CUT_NOTE = "[… quote cut: {more} more characters not shown]"
OWN_AUTHOR = "your earlier answer"


def make_quote(text: str | None, author: str | None, *, own: bool = False) -> Quote | None:
    """The quote to store: control characters removed, at most QUOTE_MAX_CHARS characters of
    the text (then a note of how much was cut), the author's name through clean_speaker.
    None when no text is left (a photo without a caption, a sticker)."""
    shown = clean_text(text or "").strip()
    if not shown:
        return None
    if len(shown) > QUOTE_MAX_CHARS:
        more = len(shown) - QUOTE_MAX_CHARS
        shown = shown[:QUOTE_MAX_CHARS].rstrip() + "\n" + CUT_NOTE.format(more=more)
    name = clean_speaker(author) if author else ""
    return Quote(shown, name or None, own)


def render_quote(quote: Quote) -> str:
    """The quote as the head of a user message: each line behind "> ", then who wrote it.

    > Bonjour à tous
    — quoted from Alice
    """
    lines = "\n".join(f"> {line}" for line in quote.text.splitlines())
    # Names stored are already clean; cleaning again costs nothing and keeps it so.
    name = clean_speaker(quote.author) if quote.author else ""
    source = OWN_AUTHOR if quote.own else name
    attribution = f"— quoted from {source}" if source else "— quoted"
    return f"{lines}\n{attribution}"


def with_quote(question: str, quote: Quote | None) -> str:
    """The question under its quote, separated by a blank line (the question alone if none)."""
    return question if quote is None else f"{render_quote(quote)}\n\n{question}"
