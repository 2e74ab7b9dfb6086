"""/tools: which tools the model can use in this chat (MCP servers, see docs/tools.md)."""

from __future__ import annotations

from bot.engine.tools.listing import tools_text
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming


async def tools(incoming: Incoming, context: BotContext) -> None:
    """The tools by server; admins-only ones are listed to the bot's admins only."""
    user = incoming.message.from_user
    admin = context.gatekeeper.is_admin(user.id if user else None)
    model = await context.controls.model_for(incoming.chat_key)
    await incoming.message.reply_text(tools_text(context.conversation.tools, model, admin=admin))
