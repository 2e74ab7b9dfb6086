"""Model-written conversation titles (CONVERSATION_TITLES), made in the background.

A title is asked for once a conversation has its first answer, and only for chats that have
several conversations (/new): conversation 2 and later after their first answer, and the
conversation a /new leaves when it has none yet. A chat that never uses /new costs nothing.
A title request is charged to the chat and the user like a summary (SUMMARY_MODEL, else the
chat's model); at most a few run at once, each bounded by SUMMARY_TIMEOUT; a failure is only
logged (/chats then shows the first words of the first question).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bot.config import ConversationSettings, SummarySettings
from bot.engine import errors
from bot.engine.accounting.tokens import measure_usage
from bot.engine.conversation import identity
from bot.engine.conversation.background import KeyedTasks
from bot.engine.conversation.summary import Summarizer
from bot.engine.text import clean_text
from bot.observability.logs import get_logger
from bot.storage.repositories import Stores

log = get_logger(__name__)

MAX_RUNNING = 4  # title requests in flight across all chats
MAX_TOKENS = 24
MAX_TITLE_CHARS = 60
MAX_SOURCE_CHARS = 1_000  # of the question and of the answer, sent to the model
TEMPERATURE = 0.2
INSTRUCTION = (
    "Write a short title (at most six words) for the conversation below. "
    "Answer with the title only, without quotes."
)


@dataclass(frozen=True)
class TitlePolicy:
    enabled: bool
    model: str | None  # None: the chat's model
    timeout_s: float

    @classmethod
    def from_settings(cls, settings: ConversationSettings, summary: SummarySettings) -> TitlePolicy:
        """CONVERSATION_TITLES; the model and time bound of summaries (SUMMARY_*)."""
        return cls(settings.conversation_titles, summary.summary_model, summary.summary_timeout)


def tidy(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """One line of at most `limit` characters, without surrounding quotes."""
    line = clean_text(text).strip().splitlines()[0] if text.strip() else ""
    line = line.strip().strip("\"'“”«»").strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class Titler:
    """Schedules and runs the background title requests."""

    def __init__(self, summaries: Summarizer, policy: TitlePolicy, stores: Stores) -> None:
        """Titles are asked of the summaries' model client, priced and accounted as they are."""
        self.policy = policy
        self._summaries = summaries
        self._conversations = stores.conversations
        self._tasks = KeyedTasks(MAX_RUNNING, "title")

    def schedule(self, key: str, *, user_id: str | None) -> bool:
        """Title the conversation `key` in the background unless titles are off, one is
        being made for it, or too many are running (then it is tried after a later answer)."""
        if not self.policy.enabled or key in self._tasks or self._tasks.full:
            return False
        self._tasks.start(key, self._run(key, user_id))
        return True

    async def close(self) -> None:
        """Cancel the titles in flight (at shutdown)."""
        await self._tasks.close()

    async def _run(self, key: str, user_id: str | None) -> None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                await self._title(key, user_id, started)
        except TimeoutError:
            log.warning("conversation_title_failed", chat_key=key, error_type="timeout")
        except errors.ModelError as exc:
            log.warning("conversation_title_failed", chat_key=key, error_type=exc.error_type)
        except Exception:  # a bug of ours must not take the bot down with a background task
            log.exception("conversation_title_failed", chat_key=key, error_type="internal")

    async def _title(self, key: str, user_id: str | None, started: float) -> None:
        base, number = identity.base_key(key), identity.number_of(key)
        record = await self._conversations.get(base, number)
        if record is not None and record.title:
            return
        first = await self._summaries.turns.answered_page(key, after=0, limit=1)
        if not first:
            return
        turn = first[0]
        model = self.policy.model or (await self._summaries.profiles.resolve(key)).model
        messages = [
            {"role": "system", "content": INSTRUCTION},
            {
                "role": "user",
                "content": f"Question: {turn.user_text[:MAX_SOURCE_CHARS]}\n\n"
                f"Answer: {(turn.answer or '')[:MAX_SOURCE_CHARS]}",
            },
        ]
        completion = await self._summaries.llm.complete(
            messages, model=model, max_tokens=MAX_TOKENS, temperature=TEMPERATURE
        )
        counter = await self._summaries.tokens.counter(model)
        usage = measure_usage(model, messages, completion, counter, self._summaries.prices)
        now = self._summaries.clock()
        await self._summaries.usage.record(key, usage, now=now, user_id=user_id)
        title = tidy(completion.text)
        if not title:
            raise errors.EmptyAnswer()
        await self._conversations.set_title(base, number, title, now=now)
        log.info(
            "conversation_titled",
            chat_key=key,
            chars=len(title),
            model=model,
            user_id=user_id,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
