"""Building the request: the system prompt, the chat's summary, then the newest turns that fit.

No tokenizer is available offline, so token counts are estimates (see tokens.py: calibrated per
model by what the provider reports); the provider's context-length error is the backstop
(see models/translation.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine.accounting.tokens import MESSAGE_OVERHEAD_TOKENS, Counter, estimate
from bot.storage.records import Turn

Message = dict[str, str]

SUMMARY_PREFIX = "Summary of the earlier conversation (older messages are not shown):\n"


def estimate_tokens(text: str) -> int:
    """A rough token count: about four UTF-8 bytes per token, at least one."""
    return estimate(text)


def message_tokens(message: Message, counter: Counter = estimate_tokens) -> int:
    return counter(message["content"]) + MESSAGE_OVERHEAD_TOKENS


def user_content(text: str, speaker: str | None) -> str:
    """What the model sees of a user's message: in groups, prefixed with who said it."""
    return f"{speaker}: {text}" if speaker else text


def summary_message(summary: str) -> Message:
    """The chat's rolling summary, sent right after the system prompt."""
    return {"role": "system", "content": SUMMARY_PREFIX + summary}


@dataclass(frozen=True)
class Limits:
    """How much history a request may carry."""

    max_messages: int  # user and assistant messages, the new one included
    max_prompt_tokens: int  # context size minus the room kept for the answer


def turn_messages(turn: Turn) -> list[Message]:
    """A stored turn as the model sees it: the question, then its answer."""
    return [
        {"role": "user", "content": user_content(turn.user_text, turn.speaker)},
        {"role": "assistant", "content": turn.answer or ""},
    ]


def fit_turns(
    history: Sequence[Turn], limits: Limits, budget: int, counter: Counter = estimate_tokens
) -> list[Turn]:
    """The newest whole answered turns within `budget` tokens and the message limit."""
    room = limits.max_messages - 1
    kept: list[Turn] = []
    for turn in reversed(history):
        if room < 2 or turn.answer is None:
            break
        cost = sum(message_tokens(m, counter) for m in turn_messages(turn))
        if cost > budget:
            break
        kept.insert(0, turn)
        budget -= cost
        room -= 2
    return kept


def build_messages(
    system_prompt: str,
    history: Sequence[Turn],
    current: Turn,
    limits: Limits,
    *,
    summary: str | None = None,
    counter: Counter = estimate_tokens,
) -> list[Message]:
    """The request's messages; the system prompt, the summary and the current message are
    always kept.

    Older turns are added newest first while both limits hold, whole turns only (a question
    and its answer together), so the model never sees an answer without its question.
    """
    head: list[Message] = [{"role": "system", "content": system_prompt}]
    if summary:
        head.append(summary_message(summary))
    newest: Message = {"role": "user", "content": user_content(current.user_text, current.speaker)}
    budget = limits.max_prompt_tokens - sum(message_tokens(m, counter) for m in [*head, newest])
    kept = fit_turns(history, limits, budget, counter)
    return [*head, *(m for turn in kept for m in turn_messages(turn)), newest]


def history_window(limits: Limits) -> int:
    """How many stored turns can possibly fit: the most that is ever read for a request."""
    return max(0, (limits.max_messages - 1) // 2)
