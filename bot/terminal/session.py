"""One terminal chat: read a line, answer it through the engine, repeat until /exit or Ctrl-D."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from prompt_toolkit import PromptSession
from rich.console import Console
from rich.markdown import Markdown

from bot.engine import errors
from bot.engine.conversation import identity
from bot.engine.conversation.turns import Reply
from bot.storage.records import NewTurn, Turn
from bot.terminal.attach import prepared
from bot.terminal.commands import EXIT_COMMANDS, ChatContext, run_command
from bot.terminal.view import AnswerView
from bot.wiring import DEMO_MODEL_HINT, Engine

SHOWN_ON_RESUME = 3  # earlier exchanges printed when a chat is reopened


class Interrupted(errors.BotError):
    """The user pressed Ctrl-C while the answer was being written."""

    error_type = "interrupted"


class TerminalChat:
    """The terminal channel: the same engine, database and commands as the Telegram chat."""

    def __init__(
        self, engine: Engine, name: str, console: Console, prompt: PromptSession[str]
    ) -> None:
        self.engine = engine
        self.name = name
        self.console = console
        self.prompt = prompt
        self.ctx = ChatContext(
            engine.conversation, identity.terminal_chat(name), console, self.answer, engine.media
        )
        self._generating: asyncio.Future[Reply] | None = None

    async def run(self) -> None:
        """Greet, show where the chat left off, then answer lines until /exit or Ctrl-D."""
        with self._ctrl_c_stops_answers():
            await self._chat()
        self.console.print("[dim]Bye.[/dim]")

    async def _chat(self) -> None:
        await self._greet()
        while True:
            try:
                line = (await self.prompt.prompt_async(handle_sigint=False)).strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if line.lower() in EXIT_COMMANDS:
                break
            if line.startswith("/"):
                await run_command(self.ctx, line)
            elif line:
                await self.ask(line)

    @contextlib.contextmanager
    def _ctrl_c_stops_answers(self) -> Iterator[None]:
        """While an answer is written the terminal is not in raw mode: Ctrl-C is a signal.

        It stops the answer in progress, never the chat (at the prompt, Ctrl-C clears the line).
        """
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._on_ctrl_c)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def _on_ctrl_c(self) -> None:
        if self._generating is not None:
            self._generating.cancel()

    async def _greet(self) -> None:
        model = await self.ctx.conversation.controls.model_for(self.ctx.key)
        self.console.print(
            f"[bold]Terminal chat “{self.name}”[/bold] · model [bold]{model}[/bold]",
            highlight=False,
        )
        if self.engine.demo_model:
            self.console.print(f"[yellow]{DEMO_MODEL_HINT}[/yellow]", highlight=False)
        earlier = await self.ctx.conversation.controls.history(self.ctx.key, SHOWN_ON_RESUME)
        if earlier:
            self.console.print(f"[dim]Resuming this chat; the last {len(earlier)} exchanges:[/dim]")
            for turn in earlier:
                self._show_earlier(turn)
        self.console.print("[dim]/help lists the commands; /exit or Ctrl-D leaves.[/dim]\n")

    def _show_earlier(self, turn: Turn) -> None:
        self.console.print(f"[bold cyan]you ›[/bold cyan] {turn.user_text}", highlight=False)
        self.console.print(Markdown(turn.answer or ""))

    async def ask(self, text: str) -> None:
        """Store the line as a turn and stream its answer."""
        turn = await self.ctx.conversation.submit(NewTurn(chat_id=self.ctx.key, user_text=text))
        assert turn is not None  # only turns with a source_key can be duplicates
        await self.answer(turn)

    async def answer(self, turn: Turn) -> None:
        """Stream a stored turn's answer (its files read first); Ctrl-C stops the answer."""
        if self.engine.media is not None:
            try:
                turn = await prepared(self.ctx, turn, self.engine.media)
            except errors.ModelError as exc:
                self.console.print(f"[red]{exc.user_message}[/red]", highlight=False)
                return
        with AnswerView(self.console) as view:
            outcome = await self._generate(turn, view)
        if isinstance(outcome, Reply):
            await self.ctx.conversation.delivered(outcome)
            self.console.print(_footer(outcome), highlight=False)
        elif isinstance(outcome, Interrupted):
            await self.ctx.conversation.failed(turn, outcome)
            self.console.print("[dim](stopped)[/dim]")
        else:
            self.console.print(f"[red]{outcome.user_message}[/red]", highlight=False)

    async def _generate(self, turn: Turn, view: AnswerView) -> Reply | errors.BotError:
        self._generating = asyncio.ensure_future(
            self.ctx.conversation.generate(turn, on_delta=view.add, on_tool=view.tool)
        )
        try:
            return await self._generating
        except errors.ModelError as exc:
            return exc  # the engine has marked the turn failed and logged why
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the chat itself is being stopped, not just this answer
            return Interrupted()
        finally:
            self._generating = None


def _footer(reply: Reply) -> str:
    """A dim line under the answer: model, tokens, time."""
    usage, approx = reply.usage, "~" if reply.usage.estimated else ""
    return (
        f"[dim]{usage.model} · {approx}{usage.prompt_tokens:,} → "
        f"{approx}{usage.completion_tokens:,} tokens · {reply.completion.latency_s:.1f} s[/dim]\n"
    )
