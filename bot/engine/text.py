"""What a user's text may contain before it is stored or sent to a model.

Telegram normally delivers clean UTF-8, but a client or a forwarded message can carry NUL and
other control characters (invisible, and refused by some providers and databases) and JSON can
even carry lone UTF-16 surrogates (which cannot be encoded at all). Both are removed here, once,
before the text is stored.
"""

from __future__ import annotations

import re

# C0 and C1 control characters, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` without control characters; a lone surrogate becomes U+FFFD.

    Everything else (emoji, right-to-left text, joiners and marks) is kept as it is.
    """
    if any("\ud800" <= char <= "\udfff" for char in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", text)
