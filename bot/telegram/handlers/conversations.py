"""Several conversations in one chat (or topic): /new, /chats and its buttons."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.conversation.conversations import Listed
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming, Press

CHAT_BUTTON_PREFIX = "chat:"
STARTED = (
    "🆕 New conversation started: I remember nothing of the previous one here. "
    "It is kept: /chats lists your conversations and switches back."
)
GONE = "That conversation is no longer available."


async def new(incoming: Incoming, context: BotContext) -> None:
    """Starts a fresh, empty conversation here; the previous one is kept (unlike /clear)."""
    user = incoming.message.from_user
    await context.conversation.conversations.start_new(
        incoming.base_key, user_id=None if user is None else str(user.id)
    )
    await incoming.message.reply_text(STARTED)


def _picker(listed: list[Listed]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✅ " if entry.current else "") + entry.title,
                    callback_data=f"{CHAT_BUTTON_PREFIX}{entry.number}",
                )
            ]
            for entry in listed
        ]
    )


async def chats(incoming: Incoming, context: BotContext) -> None:
    """The recent conversations here (the current one marked ✅), with buttons to switch."""
    listed = await context.conversation.conversations.listing(incoming.base_key)
    await incoming.message.reply_text(
        "💬 Your conversations here (✅ the current one). Tap one to go back to it; "
        "/new starts another.",
        reply_markup=_picker(listed),
    )


async def chat_button(press: Press, context: BotContext) -> None:
    """A tap on /chats' list makes that conversation current again, with its history."""
    query = press.query
    try:
        number = int(press.choice)
    except ValueError:
        await query.answer(GONE)
        return
    conversations = context.conversation.conversations
    if await conversations.switch(press.base_key, number) is None:
        await query.answer(GONE)
        return
    listed = await conversations.listing(press.base_key)
    title = next((entry.title for entry in listed if entry.number == number), "")
    await query.answer(f"Back to: {title}")
    await query.edit_message_text(f"↩️ Back to the conversation “{title}”. Carry on.")
