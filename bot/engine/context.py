"""Building the request: the system prompt, then the newest turns that fit the limits.

No tokenizer is available offline, so token counts are estimates; they err on the high side
for English and the provider's context-length error is the backstop (see llm.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil

from bot.storage.base import Turn

Message = dict[str, str]

# Chat formats add a few tokens per message (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """A rough token count: about four UTF-8 bytes per token, at least one."""
    return max(1, ceil(len(text.encode("utf-8", "surrogatepass")) / 4))


def message_tokens(message: Message) -> int:
    return estimate_tokens(message["content"]) + MESSAGE_OVERHEAD_TOKENS


def user_content(text: str, speaker: str | None) -> str:
    """What the model sees of a user's message: in groups, prefixed with who said it."""
    return f"{speaker}: {text}" if speaker else text


@dataclass(frozen=True)
class Limits:
    """How much history a request may carry."""

    max_messages: int  # user and assistant messages, the new one included
    max_prompt_tokens: int  # context size minus the room kept for the answer


def build_messages(
    system_prompt: str, history: Sequence[Turn], current: Turn, limits: Limits
) -> list[Message]:
    """The request's messages; the system prompt and the current message are always kept.

    Older turns are added newest first while both limits hold, whole turns only (a question
    and its answer together), so the model never sees an answer without its question.
    """
    system: Message = {"role": "system", "content": system_prompt}
    newest: Message = {"role": "user", "content": user_content(current.user_text, current.speaker)}
    budget = limits.max_prompt_tokens - message_tokens(system) - message_tokens(newest)
    room = limits.max_messages - 1
    kept: list[Message] = []
    for turn in reversed(history):
        if room < 2 or turn.answer is None:
            break
        pair = [
            {"role": "user", "content": user_content(turn.user_text, turn.speaker)},
            {"role": "assistant", "content": turn.answer},
        ]
        cost = sum(message_tokens(m) for m in pair)
        if cost > budget:
            break
        kept[:0] = pair
        budget -= cost
        room -= 2
    return [system, *kept, newest]


def history_window(limits: Limits) -> int:
    """How many stored turns can possibly fit: the most that is ever read for a request."""
    return max(0, (limits.max_messages - 1) // 2)
