"""Conversation controls: /persona (with a picker), /system and /export."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile

from bot.engine.conversation.export import FORMATS
from bot.engine.profiles.personas import Persona
from bot.engine.profiles.profiles import (
    MAX_SYSTEM_PROMPT_CHARS,
    ChatProfile,
    PromptTooLong,
    UnknownPersona,
)
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import Incoming, Press

PERSONA_BUTTON_PREFIX = "persona:"
RESET = "reset"
MAX_ECHOED_CHARS = 60  # how much of a bad argument is quoted back
MAX_SHOWN_PROMPT_CHARS = 3500  # a prompt shown by /system, within one Telegram message


def _echo(text: str) -> str:
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "…"


def _current(profile: ChatProfile) -> str:
    return profile.persona.name if profile.persona else "none (the default prompt)"


def _picker(personas: list[Persona], profile: ChatProfile) -> InlineKeyboardMarkup:
    # callback_data is limited to 64 bytes, so buttons carry the persona's index, not its name.
    current = profile.persona.name if profile.persona else None
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if p.name == current else "") + p.name,
                callback_data=f"{PERSONA_BUTTON_PREFIX}{index}",
            )
        ]
        for index, p in enumerate(personas)
    ]
    rows.append([InlineKeyboardButton("↩️ Default", callback_data=PERSONA_BUTTON_PREFIX + RESET)])
    return InlineKeyboardMarkup(rows)


def _switched(profile: ChatProfile) -> str:
    if profile.persona is None:
        return f"↩️ Back to the default prompt for this chat (model: {profile.model})."
    return f"🎭 Persona switched to {profile.persona.name} for this chat (model: {profile.model})."


async def persona(incoming: Incoming, context: BotContext) -> None:
    """/persona lists the personas with a picker; /persona NAME switches; /persona reset."""
    profiles, message, key = context.conversation.profiles, incoming.message, incoming.chat_key
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        profile = await profiles.resolve(key)
        listing = "\n".join(f"• {p.name} – {p.description}" for p in profiles.book)
        await message.reply_text(
            f"🎭 Current persona: {_current(profile)}\n\n{listing}\n\n"
            "Pick one below or send /persona NAME; /persona reset goes back to the default.",
            reply_markup=_picker(profiles.book.personas, profile),
        )
        return
    try:
        if wanted.lower() == RESET:
            profile = await profiles.reset_persona(key)
        else:
            profile = await profiles.set_persona(key, wanted)
    except UnknownPersona as exc:
        await message.reply_text(
            f"I don't know the persona “{_echo(exc.name)}”. Choose one of: {', '.join(exc.choices)}"
        )
        return
    await message.reply_text(_switched(profile))


async def persona_button(press: Press, context: BotContext) -> None:
    """A tap on the persona picker switches the persona and updates the picker message."""
    profiles, query = context.conversation.profiles, press.query
    if press.choice == RESET:
        profile = await profiles.reset_persona(press.chat_key)
    else:
        try:
            name = profiles.book.personas[int(press.choice)].name
        except (ValueError, IndexError):
            await query.answer("That choice is no longer available.")
            return
        profile = await profiles.set_persona(press.chat_key, name)
    await query.answer(f"Persona: {_current(profile)}")
    await query.edit_message_text(_switched(profile))


def _shown_prompt(profile: ChatProfile) -> str:
    where = {
        "custom": "This chat's custom system prompt",
        "persona": f"The system prompt of the persona {_current(profile)}",
        "default": "The default system prompt",
    }[profile.prompt_source]
    text = profile.system_prompt
    if len(text) > MAX_SHOWN_PROMPT_CHARS:
        text = text[:MAX_SHOWN_PROMPT_CHARS] + "…"
    return f"{where}:\n\n{text}\n\n/system TEXT sets a custom one; /system reset removes it."


async def system(incoming: Incoming, context: BotContext) -> None:
    """/system shows the system prompt in effect; /system TEXT sets one; /system reset."""
    profiles, message, key = context.conversation.profiles, incoming.message, incoming.chat_key
    if message.text is None:
        return
    # The text after the command, with its line breaks (context.args would lose them).
    parts = message.text.split(None, 1)
    text = parts[1].strip() if len(parts) > 1 else ""
    if not text:
        await message.reply_text(_shown_prompt(await profiles.resolve(key)))
        return
    if text.lower() == RESET:
        profile = await profiles.set_system_prompt(key, None)
        await message.reply_text("↩️ Custom system prompt removed.\n\n" + _shown_prompt(profile))
        return
    try:
        await profiles.set_system_prompt(key, text)
    except PromptTooLong:
        await message.reply_text(
            f"That system prompt is too long: at most {MAX_SYSTEM_PROMPT_CHARS:,} characters."
        )
        return
    await message.reply_text("✅ System prompt set for this chat. /system shows it.")


async def export(incoming: Incoming, context: BotContext) -> None:
    """/export sends this chat's history as a Markdown file; /export json as JSON. A history
    too large for one file is cut (the file and the caption say how many turns are missing)."""
    message = incoming.message
    wanted = " ".join(context.args or []).strip().lower()
    fmt = FORMATS.get(wanted)
    if fmt is None:
        await message.reply_text("Send /export for a Markdown file or /export json for JSON.")
        return
    file = await context.controls.export(incoming.chat_key, fmt)
    if file is None:
        await message.reply_text("There is nothing to export yet: our conversation is empty.")
        return
    caption = f"📄 This chat's history: {file.turns:,} exchanges."
    if file.left_out:
        caption += f" The file stops at its size limit: the newest {file.left_out:,} are not in it."
    try:
        # Handed to the HTTP client as a file, read in chunks as it is sent: never whole in memory.
        document = InputFile(file.file, filename=file.filename, read_file_handle=False)
        await message.reply_document(document=document, caption=caption)
    finally:
        file.close()
