"""The bot's commands: /clear, /stats, /model (and the model picker's buttons), /retry."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine import errors
from bot.engine.conversation.controls import ModelChoice, StatsView
from bot.engine.text import clean_text
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming, Press
from bot.telegram.reply.answer import answer_turn
from bot.telegram.reply.outcome import settled

MODEL_BUTTON_PREFIX = "model:"
MAX_ECHOED_CHARS = 60  # how much of a bad argument is quoted back


async def clear(incoming: Incoming, context: BotContext) -> None:
    """Forgets this chat's conversation (only this chat's) and says so."""
    removed = await context.controls.clear(incoming.chat_key)
    text = (
        "🧹 Done: I've forgotten our conversation. Let's start fresh."
        if removed
        else "There was nothing to forget: our conversation is already empty."
    )
    await incoming.message.reply_text(text)


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


async def stats(incoming: Incoming, context: BotContext) -> None:
    """This chat's figures: messages in memory, requests, tokens, model, estimated cost."""
    view = await context.controls.stats(incoming.chat_key)
    await incoming.message.reply_text(format_stats(view))


MARKS_LEGEND = "👁 sees images · 🎤 hears audio · 🛠 uses tools · 💭 reasons"
PROVIDER_HEADER = "-"  # a provider's name above its models: not a choice


def _picker(choices: list[ModelChoice], current: str) -> InlineKeyboardMarkup:
    """One button per model ("✅" on the current one, its marks after it), under a header
    button per provider when there are several."""
    # callback_data is limited to 64 bytes, so buttons carry the model's index, not its name.
    rows: list[list[InlineKeyboardButton]] = []
    provider: str | None = None
    for index, choice in enumerate(choices):
        if choice.provider is not None and choice.provider != provider:
            provider = choice.provider
            data = f"{MODEL_BUTTON_PREFIX}{PROVIDER_HEADER}"
            rows.append([InlineKeyboardButton(f"— {provider} —", callback_data=data)])
        label = ("✅ " if choice.name == current else "") + choice.name
        label += f" {choice.marks}" if choice.marks else ""
        rows.append([InlineKeyboardButton(label, callback_data=f"{MODEL_BUTTON_PREFIX}{index}")])
    return InlineKeyboardMarkup(rows)


def _model_text(choices: list[ModelChoice], current: str) -> str:
    legend = f"\n{MARKS_LEGEND}" if any(c.marks for c in choices) else ""
    return f"Current model: {current}{legend}\nChoose another:"


async def model(incoming: Incoming, context: BotContext) -> None:
    """/model shows the current model and a picker (grouped by provider, with each model's
    capability marks); /model NAME switches this chat to NAME, on whichever provider."""
    controls, message, key = context.controls, incoming.message, incoming.chat_key
    wanted = clean_text(" ".join(context.args or [])).strip()
    if not wanted:
        current, choices = await controls.model_for(key), controls.choices
        await message.reply_text(
            _model_text(choices, current), reply_markup=_picker(choices, current)
        )
        return
    try:
        chosen = await controls.set_model(key, wanted)
    except errors.UnknownModel as exc:
        shown = exc.name if len(exc.name) <= MAX_ECHOED_CHARS else exc.name[:MAX_ECHOED_CHARS] + "…"
        await message.reply_text(
            f"I don't know the model “{shown}”. Choose one of: {', '.join(exc.choices)}"
        )
        return
    await message.reply_text(f"✅ Model switched to {chosen} for this chat.")


async def model_button(press: Press, context: BotContext) -> None:
    """A tap on the picker switches the model and updates the picker message."""
    controls, query = context.controls, press.query
    if press.choice == PROVIDER_HEADER:
        await query.answer("That is a provider: choose one of the models below it.")
        return
    try:
        name = controls.models[int(press.choice)]
    except (ValueError, IndexError):
        await query.answer("That choice is no longer available.")
        return
    chosen = await controls.set_model(press.chat_key, name)
    await query.answer(f"Switched to {chosen}")
    await query.edit_message_text(f"✅ Model switched to {chosen} for this chat.")


async def retry(incoming: Incoming, context: BotContext) -> None:
    """A new answer to the chat's last question; it replaces the old answer in the history."""
    svc = context.services
    try:
        turn = await svc.conversation.retry(incoming.chat_key, source_key=incoming.source_key)
    except errors.NothingToRetry as exc:
        await incoming.message.reply_text(exc.user_message)
        return
    if turn is not None:
        async with settled(svc, turn):
            await answer_turn(context.bot, svc, turn, forum=bool(incoming.chat.is_forum))
