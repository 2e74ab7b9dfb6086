"""The bot's commands: /start, /clear, /stats, /model (and the model picker's buttons)."""

from __future__ import annotations

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.engine import errors
from bot.engine.conversation.turns import StatsView
from bot.engine.text import clean_text
from bot.telegram.app.processor import chat_key
from bot.telegram.app.services import services
from bot.telegram.handlers.chat import answer_turn
from bot.telegram.reply.outcome import settled

COMMANDS = [
    BotCommand("start", "What this bot is and how to use it"),
    BotCommand("clear", "Forget this conversation"),
    BotCommand("stats", "Usage of this chat"),
    BotCommand("model", "Show or switch the model"),
    BotCommand("retry", "Answer my last reply again, differently"),
    BotCommand("persona", "Show or switch the persona"),
    BotCommand("system", "Show or set this chat's system prompt"),
    BotCommand("export", "Download this chat's history"),
]

MODEL_BUTTON_PREFIX = "model:"
MAX_ECHOED_CHARS = 60  # how much of a bad argument is quoted back


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A short welcome: what the bot is, the current model, the commands."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    model = await services(context).conversation.model_for(chat_key(chat.id))
    how = (
        "Just send me a message and I'll answer. I remember our conversation."
        if chat.type == "private"
        else f"Mention me (@{context.bot.username}) or reply to one of my messages and I'll "
        "answer. I keep one memory for this group."
    )
    commands = "\n".join(f"/{c.command} – {c.description}" for c in COMMANDS)
    await message.reply_text(
        f"👋 Hi! I'm an AI assistant, currently using {model}.\n{how}\n\n{commands}"
    )


async def clear(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forgets this chat's conversation (only this chat's) and says so."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    removed = await services(context).conversation.clear(chat_key(chat.id))
    text = (
        "🧹 Done: I've forgotten our conversation. Let's start fresh."
        if removed
        else "There was nothing to forget: our conversation is already empty."
    )
    await message.reply_text(text)


def format_stats(view: StatsView) -> str:
    s = view.stats
    lines = [
        "📊 This chat",
        f"Messages in memory: {s.messages_in_memory:,}",
        f"Requests: {s.requests:,}",
        f"Tokens: {s.prompt_tokens:,} prompt · {s.completion_tokens:,} completion",
        f"Model: {view.model}",
    ]
    if view.priced or s.cost_usd:
        lines.append(f"Estimated cost: ${s.cost_usd:,.4f}")
    return "\n".join(lines)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """This chat's figures: messages in memory, requests, tokens, model, estimated cost."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    view = await services(context).conversation.stats(chat_key(chat.id))
    await message.reply_text(format_stats(view))


def _picker(models: list[str], current: str) -> InlineKeyboardMarkup:
    # callback_data is limited to 64 bytes, so buttons carry the model's index, not its name.
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    ("✅ " if name == current else "") + name,
                    callback_data=f"{MODEL_BUTTON_PREFIX}{index}",
                )
            ]
            for index, name in enumerate(models)
        ]
    )


async def model(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/model shows the current model and a picker; /model NAME switches this chat to NAME."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    conversation = services(context).conversation
    key = chat_key(chat.id)
    wanted = clean_text(" ".join(context.args or [])).strip()
    if not wanted:
        current = await conversation.model_for(key)
        await message.reply_text(
            f"Current model: {current}\nChoose another:",
            reply_markup=_picker(conversation.models, current),
        )
        return
    try:
        chosen = await conversation.set_model(key, wanted)
    except errors.UnknownModel as exc:
        shown = exc.name if len(exc.name) <= MAX_ECHOED_CHARS else exc.name[:MAX_ECHOED_CHARS] + "…"
        await message.reply_text(
            f"I don't know the model “{shown}”. Choose one of: {', '.join(exc.choices)}"
        )
        return
    await message.reply_text(f"✅ Model switched to {chosen} for this chat.")


async def model_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on the picker switches the model and updates the picker message."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or not query.data:
        return
    conversation = services(context).conversation
    try:
        name = conversation.models[int(query.data.removeprefix(MODEL_BUTTON_PREFIX))]
    except (ValueError, IndexError):
        await query.answer("That choice is no longer available.")
        return
    chosen = await conversation.set_model(chat_key(chat.id), name)
    await query.answer(f"Switched to {chosen}")
    await query.edit_message_text(f"✅ Model switched to {chosen} for this chat.")


async def retry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A new answer to the chat's last question; it replaces the old answer in the history."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    svc = services(context)
    try:
        turn = await svc.conversation.retry(
            chat_key(chat.id), source_key=f"tg:update:{update.update_id}"
        )
    except errors.NothingToRetry as exc:
        await message.reply_text(exc.user_message)
        return
    if turn is not None:
        async with settled(svc, turn):
            await answer_turn(context.bot, svc, turn)


async def unknown(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have, in a private chat: say which ones it has."""
    message = update.effective_message
    if message is None or message.chat.type != "private":
        return
    names = " ".join(f"/{c.command}" for c in COMMANDS)
    await message.reply_text(f"I don't know that command. I understand: {names}")
