"""End to end: the model uses MCP tools while answering in Telegram (fake Telegram, fake model
streaming tool calls, the test MCP server and the real mcp-server-time)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.fakes import _oai_payloads as payloads
from tests.fakes.openai import Error, FakeOpenAI, Reply
from tests.fakes.openai_tools import Call, ToolCalls, offered_tools, tool_messages
from tests.fakes.telegram import FakeTelegram
from tests.support.chats import GROUP, PRIVATE, answer_in, exported
from tests.support.mcp import servers_file, stdio_entry, time_entry
from tests.support.running import LogCapture, RunningBot
from tests.support.waiting import until

ADMIN = 7  # a private chat with an admin of the bot (ADMIN_USER_IDS)


@pytest.fixture
def bot_env(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The bot with three servers: the test server, the real time server, and an admins-only
    server; gpt-test calls tools."""
    path = servers_file(
        tmp_path / "mcp.json",
        {
            "test": stdio_entry(
                timeoutSeconds=2, allowedTools=["echo", "fail", "sleep", "huge", "crash"]
            ),
            "time": time_entry(),
            "vault": stdio_entry(adminsOnly=True, allowedTools=["secret_admin_tool"]),
        },
    )
    env = {
        "MCP_SERVERS_FILE": str(path),
        "TOOL_MODELS": "gpt-test",
        "ADMIN_USER_IDS": str(ADMIN),
        "TOOL_RESULT_MAX_CHARS": "1000",
        "MAX_TOOL_ROUNDS": "2",
    }
    for name, value in env.items():
        bot_env[name] = value
        monkeypatch.setenv(name, value)
    return bot_env


def stored_calls(bot: RunningBot) -> list[list[dict[str, object]]]:
    """The tool exchanges stored with the turns, oldest first."""
    path = bot.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT tool_calls FROM turns WHERE tool_calls IS NOT NULL ORDER BY id")
        return [json.loads(row[0]) for row in rows]


def _usage_rows(path: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM usage").fetchone()[0])


def tool_events(logs: LogCapture) -> list[tuple[str, str]]:
    return [(e["tool"], e["outcome"]) for e in logs.named("tool_called")]


class TestToolCalls:
    async def test_one_call_answered(self, bot: RunningBot, logs: LogCapture) -> None:
        """The tool gets the arguments, its result reaches the model, and the chat sees the
        progress line while it runs, then the answer."""
        bot.model.script(
            ToolCalls([Call("test__echo", {"text": "tool words", "times": 2})]),
            Reply("The tool said: tool words tool words"),
        )
        bot.telegram.send_private_text(PRIVATE, "use the echo tool")
        answer = await answer_in(bot, PRIVATE)
        first, second = bot.model.requests
        assert answer == "The tool said: tool words tool words"
        assert {"test__echo", "time__get_current_time"} <= set(offered_tools(first))
        [result] = tool_messages(second)
        assert str(result["content"]).endswith("tool words tool words")
        assert result["tool_call_id"] == "call_0_test__echo"
        assert any("🔧 test: echo" in draft for draft in bot.telegram.drafts(PRIVATE))
        assert tool_events(logs) == [("test:echo", "ok")]
        [exchange] = stored_calls(bot)
        assert [m["role"] for m in exchange] == ["assistant", "tool"]

    async def test_progress_line_in_a_group(self, bot: RunningBot) -> None:
        """In a group the line shows in the message edited as the answer grows; the final
        text is the answer alone."""
        bot.model.script(ToolCalls([Call("test__sleep", {"seconds": 0.3})]), Reply("Slept well."))
        bot.telegram.send_group_text(GROUP, "@test_llm_bot sleep a bit", user_id=8)
        await until(
            lambda: [m.text for m in bot.telegram.messages(GROUP)] == ["Slept well."], "answer"
        )
        shown = [
            str(call.params.get("text"))
            for call in bot.telegram.calls
            if call.method in ("sendMessage", "editMessageText")
        ]
        assert any(text.startswith("🔧 test: sleep") for text in shown)

    async def test_every_round_is_counted(self, bot: RunningBot) -> None:
        """The usage stored for the answer (what /stats and the budgets add up) is that of
        both model requests, as the provider reported them."""
        bot.model.script(ToolCalls([Call("test__echo", {"text": "x"})]), Reply("Counted."))
        bot.telegram.send_private_text(PRIVATE, "count this")
        await answer_in(bot, PRIVATE)
        path = bot.env["DATABASE_URL"].removeprefix("sqlite:///")
        await until(lambda: _usage_rows(path) == 1, "usage stored")
        with sqlite3.connect(path) as db:
            [(prompt, estimated)] = db.execute("SELECT prompt_tokens, estimated FROM usage")
        assert prompt == sum(payloads.prompt_tokens(r.messages) for r in bot.model.requests)
        assert not estimated

    async def test_two_calls_run_at_once(self, bot: RunningBot) -> None:
        """Two calls in one step run concurrently: both results come back in one request,
        sooner than one call after the other could."""
        calls = [Call("test__sleep", {"seconds": 1.0}), Call("test__sleep", {"seconds": 1.0})]
        bot.model.script(ToolCalls(calls), Reply("both slept"))
        bot.telegram.send_private_text(PRIVATE, "sleep twice")
        assert await answer_in(bot, PRIVATE) == "both slept"
        first, second = bot.model.requests
        assert [str(m["content"])[-9:] for m in tool_messages(second)] == ["slept 1.0"] * 2
        assert first.finished_at is not None
        assert second.at - first.finished_at < 2.0  # one after the other takes 2 s at least

    async def test_real_time_server(self, bot: RunningBot) -> None:
        """mcp-server-time's get_current_time answers the model with the time in UTC."""
        bot.model.script(
            ToolCalls([Call("time__get_current_time", {"timezone": "UTC"})]), Reply("It's late")
        )
        bot.telegram.send_private_text(PRIVATE, "what time is it?")
        assert await answer_in(bot, PRIVATE) == "It's late"
        [result] = tool_messages(bot.model.requests[1])
        assert '"timezone": "UTC"' in str(result["content"])
        assert '"datetime"' in str(result["content"])

    async def test_follow_up_carries_the_stored_results(self, bot: RunningBot) -> None:
        """The next question's request carries the earlier calls and results before the
        earlier answer."""
        bot.model.script(ToolCalls([Call("test__echo", {"text": "42"})]), Reply("It is 42."))
        bot.telegram.send_private_text(PRIVATE, "what number?")
        await answer_in(bot, PRIVATE, 1)
        bot.telegram.send_private_text(PRIVATE, "and doubled?")
        await answer_in(bot, PRIVATE, 2)
        roles = [m["role"] for m in bot.model.requests[-1].messages]
        assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
        [result] = tool_messages(bot.model.requests[-1])
        assert str(result["content"]).endswith("42")

    async def test_admins_only_tools_are_offered_to_admins_only(self, bot: RunningBot) -> None:
        """An adminsOnly server's tools are in the `tools` of an admin's turn only."""
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_private_text(ADMIN, "hello")
        await answer_in(bot, ADMIN)
        user, admin = bot.model.requests
        assert "vault__secret_admin_tool" not in offered_tools(user)
        assert "vault__secret_admin_tool" in offered_tools(admin)

    async def test_models_without_tools_are_not_offered_them(self, bot: RunningBot) -> None:
        """A model that does not call tools (not in TOOL_MODELS) gets no `tools`."""
        bot.telegram.send_private_text(PRIVATE, "/model gpt-other")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_private_text(PRIVATE, "hello")
        await answer_in(bot, PRIVATE, 2)
        assert "tools" not in bot.model.requests[-1].body


FAILURES = [
    # (the call, the outcome logged, what the model is told)
    (Call("test__fail", {}), "error", "(the call failed: error)"),
    (Call("test__sleep", {"seconds": 10}), "timeout", "did not answer in 2 s"),
    (Call("test__nothing", {}), "unknown_tool", "There is no tool named 'test__nothing'"),
    (Call("test__echo", '{"text": '), "invalid_arguments", "not valid JSON"),
    (Call("test__huge", {}), "ok", "[… cut: 100000 characters, the first 1000 shown]"),
]


class TestFailures:
    @pytest.mark.parametrize(("call", "outcome", "told"), FAILURES)
    async def test_the_model_is_told_and_answers(
        self, bot: RunningBot, logs: LogCapture, call: Call, outcome: str, told: str
    ) -> None:
        """The model reads what went wrong (bounded) and answers; the user sees its answer;
        the call is logged with its outcome and stored with the turn."""
        bot.model.script(ToolCalls([call]), Reply("Sorry, the tool did not help."))
        bot.telegram.send_private_text(PRIVATE, "try the tool")
        assert await answer_in(bot, PRIVATE, timeout=15) == "Sorry, the tool did not help."
        [result] = tool_messages(bot.model.requests[1])
        assert told in str(result["content"])
        assert len(str(result["content"])) < 1200
        assert [o for _, o in tool_events(logs)] == [outcome]
        [exchange] = stored_calls(bot)
        assert told in str(exchange[-1]["content"])

    async def test_a_crash_mid_call(self, bot: RunningBot, logs: LogCapture) -> None:
        """The server dies during the call: the call fails cleanly, the server is restarted,
        and its tools work again."""
        bot.model.script(ToolCalls([Call("test__crash", {})]), Reply("It broke."))
        bot.telegram.send_private_text(PRIVATE, "crash it")
        assert await answer_in(bot, PRIVATE) == "It broke."
        assert tool_events(logs) == [("test:crash", "unavailable")]
        await logs.wait_for("mcp_server_ready", count=4)  # three at start, then the restart
        bot.model.script(ToolCalls([Call("test__echo", {"text": "back"})]), Reply("Back."))
        bot.telegram.send_private_text(PRIVATE, "again")
        assert await answer_in(bot, PRIVATE, 2) == "Back."
        assert tool_events(logs)[-1] == ("test:echo", "ok")

    async def test_stop_during_a_tool_call(self, bot: RunningBot, logs: LogCapture) -> None:
        """/stop while a tool runs ends the answer as stopped; the server keeps working."""
        bot.model.script(ToolCalls([Call("test__sleep", {"seconds": 1.5})]))
        bot.telegram.send_private_text(PRIVATE, "sleep long")
        await until(lambda: bool(bot.telegram.drafts(PRIVATE)), "the progress line")
        bot.telegram.send_private_text(PRIVATE, "/stop")
        assert await answer_in(bot, PRIVATE) == "⏹ Stopped."
        assert len(bot.model.requests) == 1
        assert tool_events(logs) == [("test:sleep", "cancelled")]
        bot.model.script(ToolCalls([Call("test__echo", {"text": "alive"})]), Reply("Alive."))
        bot.telegram.send_private_text(PRIVATE, "still there?")
        assert await answer_in(bot, PRIVATE, 2) == "Alive."
        assert tool_events(logs)[-1] == ("test:echo", "ok")

    async def test_a_model_looping_on_tools_is_stopped(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """After MAX_TOOL_ROUNDS rounds of calls the model is asked, without tools, for its
        final answer."""
        again = ToolCalls([Call("test__echo", {"text": "more"})])
        bot.model.script(again, again, Reply("Final answer."))
        bot.telegram.send_private_text(PRIVATE, "loop")
        assert await answer_in(bot, PRIVATE) == "Final answer."
        last = bot.model.requests[-1]
        assert len(bot.model.requests) == 3
        assert "tools" not in last.body
        assert "no more tool calls" in str(last.messages[-1]["content"])
        assert logs.named("tool_rounds_exhausted")

    async def test_a_provider_rejecting_tools(self, bot: RunningBot, logs: LogCapture) -> None:
        """A 400 about tools: asked again without them, logged, never offered them again."""
        bot.model.script(Error(400, "tools are not supported by this model"))
        bot.telegram.send_private_text(PRIVATE, "hello")
        assert await answer_in(bot, PRIVATE) == "echo: hello"
        bot.telegram.send_private_text(PRIVATE, "again")
        await answer_in(bot, PRIVATE, 2)
        assert [bool(offered_tools(r)) for r in bot.model.requests] == [True, False, False]
        assert [e["model"] for e in logs.named("tools_unsupported")] == ["gpt-test"]


class TestStartUp:
    async def test_a_server_that_fails_to_start(
        self,
        logs: LogCapture,
        telegram: FakeTelegram,
        model: FakeOpenAI,
        bot_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """A server whose command does not exist is logged; the bot runs with the others."""
        path = servers_file(
            tmp_path / "broken.json",
            {"broken": {"command": str(tmp_path / "no-such-server")}, "test": stdio_entry()},
        )
        running = RunningBot(telegram, model, bot_env, monkeypatch)
        await running.start(MCP_SERVERS_FILE=str(path))
        try:
            telegram.send_private_text(PRIVATE, "hello")
            await answer_in(running, PRIVATE)
            offered = offered_tools(model.requests[0])
        finally:
            await running.stop()
        assert "test__echo" in offered
        assert [e["server"] for e in logs.named("mcp_server_unavailable")] == ["broken"]


class TestCommands:
    async def test_tools_lists_by_server(self, bot: RunningBot) -> None:
        """/tools lists each server's tools; the admins-only server only to admins."""
        bot.telegram.send_private_text(PRIVATE, "/tools")
        listing = await answer_in(bot, PRIVATE)
        bot.telegram.send_private_text(ADMIN, "/tools")
        admins = await answer_in(bot, ADMIN)
        assert "test:" in listing and "• echo – Echo the text back" in listing
        assert "time:" in listing and "• get_current_time" in listing
        assert "vault" not in listing and "secret_admin_tool" not in listing
        assert "vault (admins only):" in admins and "• secret_admin_tool" in admins

    async def test_retry_redoes_the_calls(self, bot: RunningBot, logs: LogCapture) -> None:
        """/retry asks the model again, and the calls it makes run again."""
        call = ToolCalls([Call("test__echo", {"text": "again"})])
        bot.model.script(call, Reply("first"), call, Reply("second"))
        bot.telegram.send_private_text(PRIVATE, "echo please")
        assert await answer_in(bot, PRIVATE) == "first"
        bot.telegram.send_private_text(PRIVATE, "/retry")
        await logs.wait_for("tool_called", count=2)
        await until(lambda: len(stored_calls(bot)) == 1 and len(bot.model.requests) == 4, "retried")
        assert tool_events(logs) == [("test:echo", "ok")] * 2
        assert not tool_messages(bot.model.requests[2])  # asked as if the first never was

    async def test_export_shows_the_calls(self, bot: RunningBot) -> None:
        """/export json lists each turn's calls with their arguments and results."""
        bot.model.script(ToolCalls([Call("test__echo", {"text": "kept"})]), Reply("Kept."))
        bot.telegram.send_private_text(PRIVATE, "echo kept")
        await answer_in(bot, PRIVATE)
        bot.telegram.send_private_text(PRIVATE, "/export json")
        await answer_in(bot, PRIVATE, 2)
        document = exported(bot, 1)
        [turn] = json.loads(document.content)["turns"]
        [call] = turn["tool_calls"]
        assert call["tool"] == "test__echo"
        assert json.loads(call["arguments"]) == {"text": "kept"}
        assert call["result"].endswith("kept")
