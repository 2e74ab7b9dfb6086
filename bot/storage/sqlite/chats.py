"""The chats table: what a chat chose (model, persona, system prompt) and its counters."""

from __future__ import annotations

from bot.storage.records import ChatSettings, ChatStats
from bot.storage.sqlite.database import Database

_SET_MODEL = """
    INSERT INTO chats (chat_id, model) VALUES (?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET model = excluded.model
"""
# A persona replaces any custom system prompt; the chat's /model choice stays only if asked.
_SET_PERSONA_KEEPING_MODEL = """
    INSERT INTO chats (chat_id, persona) VALUES (?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET persona = excluded.persona, system_prompt = NULL
"""
_SET_PERSONA_DROPPING_MODEL = """
    INSERT INTO chats (chat_id, persona) VALUES (?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET persona = excluded.persona, system_prompt = NULL,
        model = NULL
"""
_SET_SYSTEM_PROMPT = """
    INSERT INTO chats (chat_id, system_prompt) VALUES (?, ?)
    ON CONFLICT (chat_id) DO UPDATE SET system_prompt = excluded.system_prompt
"""


class SQLiteChats:
    """`ChatRepository` on the chats table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def settings(self, chat_id: str) -> ChatSettings:
        row = await self._db.fetch_one(
            "SELECT model, persona, system_prompt FROM chats WHERE chat_id = ?", (chat_id,)
        )
        return ChatSettings(*row) if row else ChatSettings()

    async def set_model(self, chat_id: str, model: str | None) -> None:
        await self._db.write(_SET_MODEL, (chat_id, model))

    async def set_persona(self, chat_id: str, persona: str | None, *, keep_model: bool) -> None:
        sql = _SET_PERSONA_KEEPING_MODEL if keep_model else _SET_PERSONA_DROPPING_MODEL
        await self._db.write(sql, (chat_id, persona))

    async def set_system_prompt(self, chat_id: str, prompt: str | None) -> None:
        await self._db.write(_SET_SYSTEM_PROMPT, (chat_id, prompt))

    async def stats(self, chat_id: str) -> ChatStats:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM turns INDEXED BY turns_answered_by_chat"
            " WHERE chat_id = ? AND state = 'answered'",
            (chat_id,),
        )
        turns = int(row[0]) if row else 0
        chat = await self._db.fetch_one(
            "SELECT requests, prompt_tokens, completion_tokens, cost_usd, model"
            " FROM chats WHERE chat_id = ?",
            (chat_id,),
        )
        requests, prompt, completion, cost, model = chat or (0, 0, 0, 0.0, None)
        return ChatStats(
            messages_in_memory=turns * 2,
            requests=requests,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            model=model,
        )
