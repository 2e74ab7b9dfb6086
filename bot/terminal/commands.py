"""The terminal chat's commands: /clear /stats /model /retry /tools /help /exit, as in
Telegram."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from bot.engine import errors
from bot.engine.conversation.turns import Conversation, StatsView
from bot.engine.media.service import Media
from bot.engine.tools.listing import tools_text
from bot.storage.records import Attachment, Turn
from bot.terminal.attach import attach

EXIT_COMMANDS = ("/exit", "/quit")


@dataclass(frozen=True)
class ChatContext:
    """What a command works on: the engine, this chat's key, the screen, and how the chat
    answers a stored turn (streamed, Ctrl-C stops it)."""

    conversation: Conversation
    key: str
    console: Console
    answer: Callable[[Turn], Awaitable[None]]
    media: Media | None = None  # files with questions (/attach)
    attached: list[Attachment] = field(default_factory=list)  # for the next question


Handler = Callable[[ChatContext, str], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    description: str
    handler: Handler


async def clear(ctx: ChatContext, _arg: str) -> None:
    """Forgets this chat's conversation (its usage figures stay)."""
    removed = await ctx.conversation.controls.clear(ctx.key)
    if removed:
        ctx.console.print(f"Forgot this conversation ({removed} messages). Starting fresh.")
    else:
        ctx.console.print("There was nothing to forget: the conversation is already empty.")


def stats_table(view: StatsView) -> Table:
    """/stats as a two-column table: messages, requests, tokens, model, cost if priced."""
    s = view.stats
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Messages in memory", f"{s.messages_in_memory:,}")
    table.add_row("Requests", f"{s.requests:,}")
    table.add_row("Tokens", f"{s.prompt_tokens:,} prompt · {s.completion_tokens:,} completion")
    table.add_row("Model", view.model)
    if view.priced or s.cost_usd:
        table.add_row("Estimated cost", f"${s.cost_usd:,.4f}")
    return table


async def stats(ctx: ChatContext, _arg: str) -> None:
    """This chat's figures."""
    ctx.console.print(stats_table(await ctx.conversation.controls.stats(ctx.key)))


async def model(ctx: ChatContext, arg: str) -> None:
    """/model lists the models (the current one marked); /model NAME switches to NAME."""
    if not arg:
        current = await ctx.conversation.controls.model_for(ctx.key)
        provider = None
        for choice in ctx.conversation.controls.choices:
            if choice.provider is not None and choice.provider != provider:
                provider = choice.provider
                ctx.console.print(f"[bold]{provider}[/bold]", highlight=False)
            mark = "[green]✓[/green]" if choice.name == current else " "
            ctx.console.print(f"{mark} {choice.name} {choice.marks}".rstrip(), highlight=False)
        ctx.console.print("[dim]Switch with /model NAME.[/dim]")
        return
    try:
        chosen = await ctx.conversation.controls.set_model(ctx.key, arg)
    except errors.UnknownModel as exc:
        ctx.console.print(
            f"[red]Unknown model.[/red] Choose one of: {', '.join(exc.choices)}", highlight=False
        )
        return
    ctx.console.print(f"Model switched to [bold]{chosen}[/bold] for this chat.", highlight=False)


async def retry(ctx: ChatContext, _arg: str) -> None:
    """A new answer to the last question; it replaces the old one once it is complete."""
    try:
        turn = await ctx.conversation.retry(ctx.key)
    except errors.NothingToRetry as exc:
        ctx.console.print(exc.user_message, highlight=False)
        return
    assert turn is not None  # only turns with a source_key can be duplicates
    await ctx.answer(turn)


async def tools(ctx: ChatContext, _arg: str) -> None:
    """The tools the model can use, by server (the terminal's operator is an admin)."""
    model = await ctx.conversation.controls.model_for(ctx.key)
    text = tools_text(ctx.conversation.tools, model, admin=True)
    ctx.console.print(text, highlight=False, markup=False)  # names come from the servers


async def help_(ctx: ChatContext, _arg: str) -> None:
    """Every command, and how to leave."""
    for command in COMMANDS:
        ctx.console.print(f"[bold]{command.usage:<14}[/bold] {command.description}")
    ctx.console.print(f"[bold]{'/exit':<14}[/bold] Leave (or press Ctrl-D)")


COMMANDS = [
    Command("/clear", "/clear", "Forget this conversation", clear),
    Command("/stats", "/stats", "Usage of this chat", stats),
    Command("/model", "/model [NAME]", "Show or switch the model", model),
    Command("/retry", "/retry", "Answer the last question again", retry),
    Command("/tools", "/tools", "The tools the model can use", tools),
    Command("/attach", "/attach PATH", "Send a file with the next question", attach),
    Command("/help", "/help", "This list", help_),
]
COMMAND_NAMES = [c.name for c in COMMANDS] + list(EXIT_COMMANDS)


async def run_command(ctx: ChatContext, line: str) -> None:
    """Run the command on `line` (which starts with "/"), or say which ones exist."""
    name, _, arg = line.partition(" ")
    command = next((c for c in COMMANDS if c.name == name.lower()), None)
    if command is None:
        ctx.console.print(f"Unknown command. Commands: {' '.join(COMMAND_NAMES)}", highlight=False)
        return
    await command.handler(ctx, arg.strip())
