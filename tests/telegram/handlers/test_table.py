"""The command table: every registered command has a policy; menu and guard policy come from it."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler

from bot.telegram.app.build import register_handlers
from bot.telegram.handlers import table
from bot.telegram.handlers.context import CONTEXT_TYPES, BotApplication, BotContext
from bot.telegram.handlers.table import Access


def _application() -> BotApplication:
    """A real application with every handler registered (never started: no network)."""
    application = ApplicationBuilder().token("123:TEST").context_types(CONTEXT_TYPES).build()
    register_handlers(application)
    return application


def _commands_without_policy(application: BotApplication) -> set[str]:
    registered = {
        name
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    return {name for name in registered if table.command(name) is None}


def _button_patterns(application: BotApplication) -> set[str]:
    return {
        handler.pattern.pattern
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern)
    }


async def _nothing(_update: Update, _context: BotContext) -> None:
    """A handler that does nothing."""


class TestRegistration:
    def test_every_registered_command_has_a_policy(self) -> None:
        """Each command name the application answers is in the table (and so in the guard)."""
        assert _commands_without_policy(_application()) == set()

    def test_a_command_registered_outside_the_table_is_caught(self) -> None:
        """A CommandHandler added beside the table is found by the check above."""
        application = _application()
        application.add_handler(CommandHandler("secret", _nothing))
        assert _commands_without_policy(application) == {"secret"}

    def test_every_table_command_is_registered(self) -> None:
        """Each name and alias in the table reaches its handler."""
        application = _application()
        registered = {
            name
            for handler in application.handlers[0]
            if isinstance(handler, CommandHandler)
            for name in handler.commands
        }
        assert registered == {name for c in table.COMMANDS for name in c.names}

    def test_every_button_handler_is_a_table_button(self) -> None:
        """The buttons answered are exactly the table's pickers, by callback-data prefix."""
        assert _button_patterns(_application()) == {f"^{b.prefix}" for b in table.BUTTONS}

    def test_every_entry_states_its_policy(self) -> None:
        """No entry leaves who may use it, or whether it asks the model, unsaid."""
        for command in table.COMMANDS:
            assert isinstance(command.access, Access), command.name
            assert isinstance(command.asks_model, bool), command.name
        for button in table.BUTTONS:
            assert isinstance(button.access, Access), button.prefix

    def test_names_are_unique(self) -> None:
        """No name or alias is declared twice."""
        names = [name for c in table.COMMANDS for name in c.names]
        assert len(names) == len(set(names))


class TestMenu:
    def test_menu_entries_and_order(self) -> None:
        """setMyCommands gets the table's menu commands, in the table's order."""
        menu = [(c.command, c.description) for c in table.MENU]
        assert menu == [
            ("start", "What this bot is and how to use it"),
            ("clear", "Forget this conversation"),
            ("new", "Start a new conversation (the old one is kept)"),
            ("chats", "List the conversations and switch back"),
            ("stats", "Usage of this chat"),
            ("model", "Show or switch the model"),
            ("retry", "Answer my last reply again, differently"),
            ("stop", "Stop the answer being written"),
            ("persona", "Show or switch the persona"),
            ("system", "Show or set this chat's system prompt"),
            ("export", "Download this chat's history"),
            ("tools", "The tools the model can use here"),
            ("voice", "Read answers aloud too (on/off)"),
        ]

    def test_help_is_an_alias_of_start_not_in_the_menu(self) -> None:
        """/help answers as /start does, and the menu does not list it."""
        assert table.command("help") is table.command("start")
        assert "help" not in {c.command for c in table.MENU}

    def test_admin_command_is_hidden(self) -> None:
        """/usage works for the bot's admins but is not offered in the menu."""
        usage = table.command("usage")
        assert usage is not None and usage.menu is None
        assert "usage" not in {c.command for c in table.MENU}


class TestPolicy:
    def test_only_usage_is_for_bot_admins(self) -> None:
        """The bot's admins alone may use /usage."""
        admins_only = {c.name for c in table.COMMANDS if c.access is Access.BOT_ADMINS}
        assert admins_only == {"usage"}

    def test_only_retry_asks_the_model(self) -> None:
        """/retry is held to the rate limit and budgets; other commands are not."""
        assert {c.name for c in table.COMMANDS if c.asks_model} == {"retry"}

    def test_settings_commands_need_a_group_admin_to_change(self) -> None:
        """In groups /clear, /new, /voice and /export always need an admin; /model, /persona,
        /system only with arguments."""

        def needs_admin(has_arguments: bool) -> set[str]:
            return {
                c.name
                for c in table.COMMANDS
                if c.access.needs_group_admin(has_arguments=has_arguments)
            }

        assert needs_admin(has_arguments=True) == {
            "clear",
            "new",
            "voice",
            "export",
            "model",
            "persona",
            "system",
        }
        assert needs_admin(has_arguments=False) == {"clear", "new", "voice", "export"}

    def test_export_is_governed_by_its_own_setting(self) -> None:
        """/export reads the whole history: its own access, under GROUP_EXPORT_ADMINS_ONLY."""
        entry = table.command("export")
        assert entry is not None and entry.access is table.Access.GROUP_ADMINS_TO_READ

    def test_picker_buttons_need_a_group_admin(self) -> None:
        """The model and persona pickers change settings, so groups keep them to admins."""
        for data in ("model:0", "persona:2", "persona:reset", "chat:2"):
            button = table.button(data)
            assert button is not None and button.access.needs_group_admin(has_arguments=True)

    def test_unknown_names_and_data_have_no_entry(self) -> None:
        """Commands and buttons the bot does not have get no policy (the guard lets them by)."""
        assert table.command("nonsense") is None
        assert table.command(None) is None
        assert table.button("other:1") is None
