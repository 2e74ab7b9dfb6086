"""ToolBox and McpServer against real MCP servers: the test server over stdio and HTTP, and the
real mcp-server-time."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from bot.config import ServerSpec
from bot.engine.tools.catalog import Outcome
from bot.engine.tools.toolbox import ToolBox
from tests.support.mcp import http_server, stdio_spec, time_spec
from tests.support.waiting import until


@pytest.fixture
async def box() -> AsyncIterator[ToolBox]:
    tools = ToolBox([stdio_spec(timeout_s=1.0)], backoff_s=0.05)
    await tools.start()
    yield tools
    await tools.close()


class TestStdio:
    async def test_lists_the_tools_in_openai_format(self, box: ToolBox) -> None:
        """Each tool is offered as a function named server__tool with its JSON schema."""
        offered = {t.function_name: t.openai() for t in box.tools(admin=False)}
        echo = offered["test__echo"]["function"]
        assert echo["parameters"]["properties"]["text"]["type"] == "string"
        assert echo["description"].startswith("Echo the text back")

    async def test_calls_a_tool_with_its_arguments(self, box: ToolBox) -> None:
        """The tool gets the arguments and its text comes back."""
        result = await box.call("test__echo", json.dumps({"text": "hi", "times": 2}), admin=False)
        assert (result.outcome, result.text) == (Outcome.OK, "hi hi")

    async def test_a_failing_tool_is_an_error_outcome(self, box: ToolBox) -> None:
        """A tool that raises gives an error outcome with the server's text."""
        result = await box.call("test__fail", "{}", admin=False)
        assert result.outcome is Outcome.ERROR
        assert "fail" in result.text

    async def test_a_slow_tool_times_out_and_the_server_stays_usable(self, box: ToolBox) -> None:
        """Past the server's timeoutSeconds the call ends as a timeout; the next call works."""
        slow = await box.call("test__sleep", '{"seconds": 5}', admin=False)
        after = await box.call("test__echo", '{"text": "still here"}', admin=False)
        assert slow.outcome is Outcome.TIMEOUT
        assert after.text == "still here"

    async def test_unknown_tools_and_bad_arguments_are_refused(self, box: ToolBox) -> None:
        """The model is told what was wrong; nothing reaches the server."""
        unknown = await box.call("test__nope", "{}", admin=False)
        broken = await box.call("test__echo", '{"text": ', admin=False)
        listed = await box.call("test__echo", "[1]", admin=False)
        assert unknown.outcome is Outcome.UNKNOWN_TOOL
        assert broken.outcome is Outcome.INVALID_ARGUMENTS
        assert listed.outcome is Outcome.INVALID_ARGUMENTS

    async def test_a_crash_mid_call_fails_cleanly_and_restarts(self, box: ToolBox) -> None:
        """The call fails as unavailable, the crash is logged, and the server comes back."""
        server = box.servers[0]
        with capture_logs() as logs:
            crashed = await box.call("test__crash", "{}", admin=False)
            await until(lambda: server.restarts == 1 and server.connected, "restarted")
        again = await box.call("test__echo", '{"text": "back"}', admin=False)
        assert crashed.outcome is Outcome.UNAVAILABLE
        assert again.text == "back"
        assert any(e["event"] == "mcp_server_lost" for e in logs)

    async def test_a_server_dying_while_idle_is_restarted(self) -> None:
        """A stdio server killed between calls is found by the ping and started again."""
        box = ToolBox([stdio_spec()], backoff_s=0.05, ping_s=0.1)
        await box.start()
        try:
            server = box.servers[0]
            pid = int((await box.call("test__pid", "{}", admin=False)).text)
            os.kill(pid, signal.SIGKILL)
            await until(lambda: server.restarts == 1 and server.connected, "restarted")
            again = int((await box.call("test__pid", "{}", admin=False)).text)
        finally:
            await box.close()
        assert again != pid

    async def test_calls_are_logged_without_contents(self, box: ToolBox) -> None:
        """tool_called has the tool, outcome, duration and sizes, never the texts."""
        with capture_logs() as logs:
            await box.call("test__echo", '{"text": "private words"}', admin=False)
        (event,) = [e for e in logs if e["event"] == "tool_called"]
        assert event["tool"] == "test:echo"
        assert event["outcome"] == "ok"
        assert event["result_chars"] == len("private words")
        assert "private words" not in repr(event)


class TestOptions:
    async def test_allowed_tools_limit_what_is_offered(self) -> None:
        """allowedTools: only those tools of the server are offered and callable."""
        box = ToolBox([stdio_spec(allowed_tools=frozenset({"echo"}))])
        await box.start()
        try:
            names = [t.function_name for t in box.tools(admin=True)]
            refused = await box.call("test__huge", "{}", admin=True)
        finally:
            await box.close()
        assert names == ["test__echo"]
        assert refused.outcome is Outcome.UNKNOWN_TOOL

    async def test_admins_only_servers_are_for_admins(self) -> None:
        """adminsOnly: offered to admins, neither offered nor callable for others."""
        box = ToolBox([stdio_spec(admins_only=True)])
        await box.start()
        try:
            others = box.tools(admin=False)
            admins = box.tools(admin=True)
            refused = await box.call("test__echo", '{"text": "x"}', admin=False)
        finally:
            await box.close()
        assert others == []
        assert admins
        assert refused.outcome is Outcome.UNKNOWN_TOOL

    async def test_a_server_that_fails_to_start_is_left_out(self) -> None:
        """A command that does not exist is logged; the other servers work."""
        broken = ServerSpec("broken", command="/nonexistent/mcp-server")
        box = ToolBox([broken, stdio_spec()], backoff_s=5)
        with capture_logs() as logs:
            await box.start()
        try:
            servers = {t.server for t in box.tools(admin=True)}
            shown = box.by_server(admin=True)
        finally:
            await box.close()
        assert servers == {"test"}
        assert shown["broken"] is None
        assert any(e["event"] == "mcp_server_unavailable" for e in logs)


class TestHttpAndRealServers:
    async def test_streamable_http_server(self) -> None:
        """A server reached by URL over streamable HTTP lists and runs its tools."""
        async with http_server() as url:
            box = ToolBox([ServerSpec("web", url=url, headers={"X-Test": "yes"})])
            await box.start()
            try:
                result = await box.call("web__echo", '{"text": "over http"}', admin=False)
            finally:
                await box.close()
        assert result.text == "over http"

    async def test_real_time_server(self) -> None:
        """mcp-server-time's get_current_time answers with the time in UTC."""
        box = ToolBox([time_spec()])
        await box.start()
        try:
            result = await box.call("time__get_current_time", '{"timezone": "UTC"}', admin=False)
        finally:
            await box.close()
        assert result.ok
        assert json.loads(result.text)["timezone"] == "UTC"
