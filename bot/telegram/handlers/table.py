"""The command table: every Telegram command and button of the bot, declared once.

An entry says what a command is: its name (and aliases), its handler, its line in the command
menu (or None: a hidden command), who may use it, and whether it asks the model. The rest is
derived from the table: the handlers registered (``app/build.py``), the menu sent with
setMyCommands (``app/run.py``), the /start text and the unknown-command reply (below, as they
show the table itself) and the guard's policy (``handlers/guard.py``). So a new command cannot
skip the guard, and tests/telegram/handlers/test_table.py fails for a command handler
registered anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from telegram import BotCommand

from bot.telegram.handlers import admin, commands, controls, conversations, stopping, tools, voice
from bot.telegram.handlers.context import BotContext
from bot.telegram.handlers.incoming import ButtonCallback, Incoming, MessageCallback


class Access(Enum):
    """Who may use a command or a button."""

    EVERYONE = "everyone"
    # In groups these change what everyone gets: only the group's admins and the bot's admins
    # (unless GROUP_SETTINGS_ADMINS_ONLY is off). In private chats, everyone.
    GROUP_ADMINS = "group admins"
    # As GROUP_ADMINS with arguments; without them the command only shows, open to everyone.
    GROUP_ADMINS_TO_CHANGE = "group admins to change"
    # Reads the group's whole history (/export): only the group's admins and the bot's
    # (unless GROUP_EXPORT_ADMINS_ONLY is off). In private chats, everyone.
    GROUP_ADMINS_TO_READ = "group admins to read"
    BOT_ADMINS = "bot admins"  # ADMIN_USER_IDS, everywhere

    def needs_group_admin(self, *, has_arguments: bool) -> bool:
        """Whether, in a group, only its admins (and the bot's) may do this (while the
        setting that governs it is on: the guard knows which)."""
        return self in (Access.GROUP_ADMINS, Access.GROUP_ADMINS_TO_READ) or (
            self is Access.GROUP_ADMINS_TO_CHANGE and has_arguments
        )


@dataclass(frozen=True, slots=True)
class Command:
    """One command. ``asks_model``: held to the rate limit and budgets like a message."""

    name: str
    handler: MessageCallback
    menu: str | None  # its line in the command menu; None keeps it out of the menu
    access: Access
    asks_model: bool
    aliases: tuple[str, ...] = ()  # further names, never in the menu

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Button:
    """The buttons of one picker, told apart by the prefix of their callback data."""

    prefix: str
    handler: ButtonCallback
    access: Access


async def start(incoming: Incoming, context: BotContext) -> None:
    """A short welcome: what the bot is, the current model, the commands."""
    model = await context.controls.model_for(incoming.chat_key)
    how = (
        "Just send me a message and I'll answer. I remember our conversation."
        if incoming.chat.type == "private"
        else f"Mention me (@{context.bot.username}) or reply to one of my messages and I'll "
        "answer. I keep one memory for this group."
    )
    listing = "\n".join(f"/{c.command} – {c.description}" for c in MENU)
    await incoming.message.reply_text(
        f"👋 Hi! I'm an AI assistant, currently using {model}.\n{how}\n\n{listing}"
    )


async def unknown(incoming: Incoming, _context: BotContext) -> None:
    """A command the bot does not have, in a private chat: say which ones it has."""
    if incoming.message.chat.type != "private":
        return
    names = " ".join(f"/{c.command}" for c in MENU)
    await incoming.message.reply_text(f"I don't know that command. I understand: {names}")


COMMANDS: tuple[Command, ...] = (
    Command(
        "start",
        start,
        menu="What this bot is and how to use it",
        access=Access.EVERYONE,
        asks_model=False,
        aliases=("help",),
    ),
    Command(
        "clear",
        commands.clear,
        menu="Forget this conversation",
        access=Access.GROUP_ADMINS,
        asks_model=False,
    ),
    Command(
        "new",
        conversations.new,
        menu="Start a new conversation (the old one is kept)",
        # Switches what the whole group talks in, like /clear.
        access=Access.GROUP_ADMINS,
        asks_model=False,
    ),
    Command(
        "chats",
        conversations.chats,
        menu="List the conversations and switch back",
        access=Access.EVERYONE,  # a list; its buttons switch, and are for group admins
        asks_model=False,
    ),
    Command(
        "stats",
        commands.stats,
        menu="Usage of this chat",
        access=Access.EVERYONE,
        asks_model=False,
    ),
    Command(
        "model",
        commands.model,
        menu="Show or switch the model",
        access=Access.GROUP_ADMINS_TO_CHANGE,
        asks_model=False,
    ),
    Command(
        "retry",
        commands.retry,
        menu="Answer my last reply again, differently",
        access=Access.EVERYONE,
        asks_model=True,
    ),
    Command(
        "stop",
        stopping.stop,
        menu="Stop the answer being written",
        # EVERYONE here; in groups the handler lets only the asker and admins stop an answer.
        access=Access.EVERYONE,
        asks_model=False,
    ),
    Command(
        "persona",
        controls.persona,
        menu="Show or switch the persona",
        access=Access.GROUP_ADMINS_TO_CHANGE,
        asks_model=False,
    ),
    Command(
        "system",
        controls.system,
        menu="Show or set this chat's system prompt",
        access=Access.GROUP_ADMINS_TO_CHANGE,
        asks_model=False,
    ),
    Command(
        "export",
        controls.export,
        menu="Download this chat's history",
        access=Access.GROUP_ADMINS_TO_READ,
        asks_model=False,
    ),
    Command(
        "tools",
        tools.tools,
        menu="The tools the model can use here",
        access=Access.EVERYONE,
        asks_model=False,
    ),
    Command(
        "voice",
        voice.voice,
        menu="Read answers aloud too (on/off)",
        access=Access.GROUP_ADMINS,  # changes what the whole group gets, like /clear
        asks_model=False,
    ),
    Command(
        "usage",
        admin.usage,
        menu=None,
        access=Access.BOT_ADMINS,
        asks_model=False,
    ),
)

BUTTONS: tuple[Button, ...] = (
    Button(commands.MODEL_BUTTON_PREFIX, commands.model_button, access=Access.GROUP_ADMINS),
    Button(controls.PERSONA_BUTTON_PREFIX, controls.persona_button, access=Access.GROUP_ADMINS),
    Button(conversations.CHAT_BUTTON_PREFIX, conversations.chat_button, access=Access.GROUP_ADMINS),
    # Who may stop (the asker, admins) is the handler's to check: the guard cannot know the asker.
    Button(stopping.STOP_BUTTON_PREFIX, stopping.stop_button, access=Access.EVERYONE),
)

MENU: list[BotCommand] = [BotCommand(c.name, c.menu) for c in COMMANDS if c.menu is not None]
"""The command menu (setMyCommands), in the table's order."""

_BY_NAME: dict[str, Command] = {name: c for c in COMMANDS for name in c.names}


def command(name: str | None) -> Command | None:
    """The table's entry for a command name or alias (None: not one of the bot's commands)."""
    return _BY_NAME.get(name) if name is not None else None


def button(data: str) -> Button | None:
    """The picker a button's callback data belongs to (None: not one of the bot's buttons)."""
    return next((b for b in BUTTONS if data.startswith(b.prefix)), None)
