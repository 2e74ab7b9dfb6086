"""A chat's profile: which system prompt, model and temperature its requests use.

The system prompt in effect: the chat's custom prompt (/system TEXT), else its persona's
prompt, else SYSTEM_PROMPT. The model: the chat's /model choice, else its persona's preferred
model (when it is one of OPENAI_MODELS), else OPENAI_MODEL. Choosing a persona that prefers a
model drops the /model choice, so the latest choice wins; /model afterwards overrides it again.

Settings belong to a chat (or topic), not to one of its conversations (/new): every key is
read and written as its `settings_key` (the conversation identity's base key), so a change
made in any conversation applies to all of the chat's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import ConversationSettings, Endpoint
from bot.engine import errors
from bot.engine.profiles.personas import Persona, PersonaBook, load_personas
from bot.observability.logs import get_logger
from bot.storage.repositories import ChatRepository

log = get_logger(__name__)

MAX_SYSTEM_PROMPT_CHARS = 4000  # a Telegram message holds 4096; this leaves room for "/system "


@dataclass(frozen=True)
class ChatProfile:
    """What a chat's requests are made with, and where the system prompt came from."""

    system_prompt: str
    prompt_source: str  # "custom", "persona" or "default"
    model: str
    temperature: float
    persona: Persona | None


class UnknownPersona(errors.BotError):
    """A user asked for a persona that is not on offer."""

    error_type = "unknown_persona"

    def __init__(self, name: str, choices: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.choices = choices


class PromptTooLong(errors.BotError):
    error_type = "system_prompt_too_long"


class Profiles:
    """Reads and changes chats' personas and system prompts."""

    def __init__(
        self,
        chats: ChatRepository,
        endpoint: Endpoint,
        settings: ConversationSettings,
        book: PersonaBook | None,
        settings_key: Callable[[str], str] = str,
    ) -> None:
        """`endpoint` gives the models on offer and the default; `settings` the default system
        prompt and temperature; `book` the personas (None: the shipped set); `settings_key`
        maps a conversation's key to the key its chat's settings are stored under."""
        self.chats = chats
        self.settings_key = settings_key
        self.endpoint = endpoint
        self.settings = settings
        self.book = book or load_personas(None)
        for persona in self.book:
            if persona.model and persona.model not in endpoint.models:
                log.warning("persona_model_ignored", persona=persona.name, model=persona.model)

    def _usable_model(self, persona: Persona | None) -> str | None:
        if persona and persona.model in self.endpoint.models:
            return persona.model
        return None

    async def resolve(self, chat_id: str) -> ChatProfile:
        chosen = await self.chats.settings(self.settings_key(chat_id))
        persona = self.book.get(chosen.persona) if chosen.persona else None
        if chosen.system_prompt:
            prompt, source = chosen.system_prompt, "custom"
        elif persona and persona.system_prompt:
            prompt, source = persona.system_prompt, "persona"
        else:
            prompt, source = self.settings.system_prompt, "default"
        if chosen.model in self.endpoint.models:
            model = chosen.model
        else:
            model = self._usable_model(persona) or self.endpoint.default_model
        temperature = (
            persona.temperature
            if persona and persona.temperature is not None
            else self.settings.temperature
        )
        assert model is not None
        return ChatProfile(prompt, source, model, temperature, persona)

    async def set_persona(self, chat_id: str, name: str) -> ChatProfile:
        """Switch the chat to a persona (dropping a custom prompt); raises UnknownPersona."""
        persona = self.book.get(name)
        if persona is None:
            raise UnknownPersona(name.strip(), self.book.names)
        keep_model = self._usable_model(persona) is None
        await self.chats.set_persona(
            self.settings_key(chat_id), persona.name, keep_model=keep_model
        )
        log.info("persona_switched", chat_key=chat_id, persona=persona.name)
        return await self.resolve(chat_id)

    async def reset_persona(self, chat_id: str) -> ChatProfile:
        await self.chats.set_persona(self.settings_key(chat_id), None, keep_model=True)
        log.info("persona_switched", chat_key=chat_id, persona=None)
        return await self.resolve(chat_id)

    async def set_system_prompt(self, chat_id: str, text: str | None) -> ChatProfile:
        """A custom system prompt for the chat; None goes back to the persona's or default."""
        prompt = text.strip() if text else None
        if prompt and len(prompt) > MAX_SYSTEM_PROMPT_CHARS:
            raise PromptTooLong()
        await self.chats.set_system_prompt(self.settings_key(chat_id), prompt or None)
        log.info(
            "system_prompt_set", chat_key=chat_id, custom=bool(prompt), chars=len(prompt or "")
        )
        return await self.resolve(chat_id)
