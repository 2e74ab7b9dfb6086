"""The chats table on PostgreSQL: what a chat chose and its counters."""

from __future__ import annotations

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.records import ChatSettings, ChatStats

_SET_MODEL = """
    INSERT INTO chats (chat_id, model) VALUES ($1, $2)
    ON CONFLICT (chat_id) DO UPDATE SET model = excluded.model
"""
# A persona replaces any custom system prompt; the chat's /model choice stays only if asked.
_SET_PERSONA_KEEPING_MODEL = """
    INSERT INTO chats (chat_id, persona) VALUES ($1, $2)
    ON CONFLICT (chat_id) DO UPDATE SET persona = excluded.persona, system_prompt = NULL
"""
_SET_PERSONA_DROPPING_MODEL = """
    INSERT INTO chats (chat_id, persona) VALUES ($1, $2)
    ON CONFLICT (chat_id) DO UPDATE SET persona = excluded.persona, system_prompt = NULL,
        model = NULL
"""
_SET_SYSTEM_PROMPT = """
    INSERT INTO chats (chat_id, system_prompt) VALUES ($1, $2)
    ON CONFLICT (chat_id) DO UPDATE SET system_prompt = excluded.system_prompt
"""


class PostgresChats:
    """`ChatRepository` on the chats table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def settings(self, chat_id: str) -> ChatSettings:
        row = await self._db.fetch_one(
            "SELECT model, persona, system_prompt FROM chats WHERE chat_id = $1", chat_id
        )
        return ChatSettings(*row) if row else ChatSettings()

    async def set_model(self, chat_id: str, model: str | None) -> None:
        await self._db.write(_SET_MODEL, chat_id, model)

    async def set_persona(self, chat_id: str, persona: str | None, *, keep_model: bool) -> None:
        sql = _SET_PERSONA_KEEPING_MODEL if keep_model else _SET_PERSONA_DROPPING_MODEL
        await self._db.write(sql, chat_id, persona)

    async def set_system_prompt(self, chat_id: str, prompt: str | None) -> None:
        await self._db.write(_SET_SYSTEM_PROMPT, chat_id, prompt)

    async def stats(self, chat_id: str) -> ChatStats:
        turns = await self._db.fetch_value(
            "SELECT COUNT(*) FROM turns WHERE chat_id = $1 AND state = 'answered'", chat_id
        )
        chat = await self._db.fetch_one(
            "SELECT requests, prompt_tokens, completion_tokens, cost_usd, model"
            " FROM chats WHERE chat_id = $1",
            chat_id,
        )
        requests, prompt, completion, cost, model = chat or (0, 0, 0, 0.0, None)
        return ChatStats(
            messages_in_memory=int(turns or 0) * 2,
            requests=requests,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            model=model,
        )
