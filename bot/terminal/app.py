"""`python -m bot chat [--chat NAME]`: open the engine and chat in this terminal.

The screen belongs to the conversation, so log lines go to a file beside the database.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from rich.console import Console

from bot.config import ServiceSettings, Settings
from bot.observability.logs import configure_logging, get_logger
from bot.storage.files import open_private
from bot.terminal.commands import COMMAND_NAMES
from bot.terminal.session import TerminalChat
from bot.wiring import StartupError, open_engine

log = get_logger(__name__)

PROMPT = FormattedText([("ansicyan bold", "you › ")])


def log_path(settings: ServiceSettings) -> Path:
    """The terminal's log lines (0600: they may quote what was typed)."""
    return settings.data_dir / "chat.log"


def history_path(settings: ServiceSettings) -> Path:
    """What was typed (for the up arrow and suggestions), shared by every terminal chat."""
    return settings.data_dir / "chat_history"


def main(settings: Settings, name: str) -> int:
    """Run the terminal chat; 0 when the user leaves, 1 when the model could not be started."""
    path = log_path(settings.service)
    with os.fdopen(open_private(path), "a", encoding="utf-8") as log_file:
        configure_logging(
            level=settings.service.log_level,
            fmt=settings.service.log_format,
            secrets=settings.secrets(),
            stream=log_file,
        )
        console = Console()
        try:
            asyncio.run(chat(settings, name, console))
        except StartupError as exc:
            log.error("startup_failed", reason=str(exc))  # noqa: TRY400 - plain words, no traceback
            print(f"Could not start: {exc}", file=sys.stderr)
            return 1
    return 0


async def chat(settings: Settings, name: str, console: Console) -> None:
    """Open the engine (and the local model, if configured) and chat until the user leaves."""
    if settings.local_model is not None:
        console.print("[dim]Starting the local model…[/dim]")
    async with open_engine(settings) as engine:
        log.info("terminal_chat_started", chat=name, model=engine.endpoint.default_model)
        typed = history_path(settings.service)
        os.close(open_private(typed))  # created 0600: it holds what was typed
        prompt: PromptSession[str] = PromptSession(
            PROMPT,
            history=FileHistory(str(typed)),
            auto_suggest=AutoSuggestFromHistory(),
            completer=WordCompleter(COMMAND_NAMES, sentence=True),
            complete_while_typing=False,
        )
        await TerminalChat(engine, name, console, prompt).run()
    log.info("terminal_chat_stopped", chat=name)
