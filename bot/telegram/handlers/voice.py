"""/voice: turn spoken answers on or off for this chat (the text answer always comes too)."""

from __future__ import annotations

from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming

ON = (
    "🔊 Voice replies are on: each answer comes as text and as a voice message. "
    "/voice again turns them off."
)
OFF = "🔇 Voice replies are off: answers come as text only."
UNAVAILABLE = "Voice replies are not available here (media is turned off by the bot's operator)."


async def voice(incoming: Incoming, context: BotContext) -> None:
    """Toggle the chat's spoken answers and say which way they are now."""
    media = context.services.media
    if media is None or media.voice is None:
        await incoming.message.reply_text(UNAVAILABLE)
        return
    now_on = await media.voice.toggle(incoming.base_key)
    await incoming.message.reply_text(ON if now_on else OFF)
