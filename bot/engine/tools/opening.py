"""Starting the tools at start-up: the MCP servers of MCP_SERVERS_FILE, their secrets kept out
of the logs, and the loop that offers their tools to the models that can call them."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Settings, read_servers
from bot.engine.events import EngineEvents
from bot.engine.models.capabilities import CapabilityMap
from bot.engine.tools.loop import ToolLoop, ToolPolicy
from bot.engine.tools.toolbox import ToolBox
from bot.observability.logs import add_secrets


async def start_tools(
    settings: Settings, stack: AsyncExitStack, events: EngineEvents, capabilities: CapabilityMap
) -> ToolLoop | None:
    """Start the servers (those that fail are logged and left out); `stack` closes them.
    None when tools are off. Raises ServersFileError when the file changed since the check."""
    if not settings.tools.enabled:
        return None
    assert settings.tools.mcp_servers_file is not None
    specs = read_servers(settings.tools.mcp_servers_file)
    add_secrets([secret for spec in specs for secret in spec.secrets()])
    toolbox = ToolBox(specs, events=events)
    stack.push_async_callback(toolbox.close)
    await toolbox.start()
    policy = ToolPolicy.from_settings(settings.tools, settings.limits.admin_user_ids)
    return ToolLoop(toolbox, policy, capabilities)
