"""/tools: the tools a chat's model may use, by server, as plain text for every channel.

Admins-only servers are listed to the bot's admins only (marked so); a server that is down
now is listed as such; a model that does not call tools is said to.
"""

from __future__ import annotations

from bot.engine.tools.loop import ToolLoop

NO_TOOLS = "No tools are set up for this bot."
MAX_DESCRIPTION_CHARS = 80


def tools_text(loop: ToolLoop | None, model: str, *, admin: bool) -> str:
    """What /tools shows in a chat whose model is `model`."""
    if loop is None:
        return NO_TOOLS
    servers = loop.toolbox.by_server(admin=admin)
    if not servers:
        return NO_TOOLS
    lines = ["🛠 Tools the model can use here, by server:"]
    for name, tools in servers.items():
        spec = next(s.spec for s in loop.toolbox.servers if s.name == name)
        mark = " (admins only)" if spec.admins_only else ""
        if tools is None:
            lines.append(f"\n{name}{mark}: not available right now")
            continue
        lines.append(f"\n{name}{mark}:")
        lines += [f"• {t.name} – {_short(t.description)}" for t in tools]
    if not loop.offered(model, admin=admin):
        lines.append(f"\nThe model {model} does not use tools: /model switches to one that does.")
    return "\n".join(lines)


def _short(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return (
        first if len(first) <= MAX_DESCRIPTION_CHARS else first[: MAX_DESCRIPTION_CHARS - 1] + "…"
    )
