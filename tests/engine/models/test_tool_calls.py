"""Tool calls streamed by the model: assembled from their pieces, and a provider that refuses
`tools` (asked again without them once, logged, and never offered them again)."""

from __future__ import annotations

from structlog.testing import capture_logs

from bot.engine.models.tool_calls import MAX_CALLS, ToolCall, ToolCallAssembler
from tests.fakes.openai import Error, FakeOpenAI, Reply
from tests.fakes.openai_tools import Call, ToolCalls, offered_tools
from tests.support.engine import MakeClient

MESSAGES = [{"role": "user", "content": "what time is it?"}]
TOOLS = [{"type": "function", "function": {"name": "time__now", "parameters": {"type": "object"}}}]


class TestStreamedCalls:
    async def test_calls_are_assembled_from_pieces(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """Two calls at once, their arguments in interleaved pieces, come out whole."""
        calls = [
            Call("time__now", {"timezone": "Europe/Paris"}),
            Call("test__echo", {"text": "hi"}),
        ]
        model.script(ToolCalls(calls, pieces=4))
        done = await make_client().complete(
            MESSAGES, model="gpt-test", max_tokens=50, temperature=0, tools=TOOLS
        )
        assert done.tool_calls == (
            ToolCall("call_0_time__now", "time__now", '{"timezone": "Europe/Paris"}'),
            ToolCall("call_1_test__echo", "test__echo", '{"text": "hi"}'),
        )
        assert done.text == ""
        assert offered_tools(model.requests[0]) == ["time__now"]

    def test_calls_are_bounded(self) -> None:
        """A model cannot make more than MAX_CALLS calls in a round."""
        assembler = ToolCallAssembler()
        for index in range(MAX_CALLS + 5):
            delta = {"index": index, "id": f"c{index}", "function": {"name": "f", "arguments": ""}}
            assembler.add({"choices": [{"delta": {"tool_calls": [delta]}}]})
        assert len(assembler.calls()) == MAX_CALLS


class TestToolsRefused:
    async def test_asked_again_without_tools_and_not_offered_again(
        self, model: FakeOpenAI, make_client: MakeClient
    ) -> None:
        """A 400 about tools: the same request without them, logged; later requests skip them."""
        model.script(
            Error(400, "This model does not support 'tools'."), Reply("no tools"), Reply("still")
        )
        llm = make_client()
        with capture_logs() as logs:
            first = await llm.complete(
                MESSAGES, model="gpt-test", max_tokens=50, temperature=0, tools=TOOLS
            )
            second = await llm.complete(
                MESSAGES, model="gpt-test", max_tokens=50, temperature=0, tools=TOOLS
            )
        assert (first.text, second.text) == ("no tools", "still")
        assert [offered_tools(r) for r in model.requests] == [["time__now"], [], []]
        assert [e["model"] for e in logs if e["event"] == "tools_unsupported"] == ["gpt-test"]
