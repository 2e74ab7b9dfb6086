"""A reasoning model's thinking told apart from its answer: the delta fields, and a leading
<think> block however the stream cuts its tags; the answer's text never holds the thinking."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.providers import Dialect
from bot.engine.models.client import LLMClient
from bot.engine.models.reasoning import Reasoning, ThinkSplitter, reasoning_delta
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_dialects import THOUGHT, FakeDialect
from tests.support.engine import FAST_RETRY

MESSAGES = [{"role": "user", "content": "question"}]


def split(pieces: list[str]) -> tuple[str, str]:
    """(thinking, answer) of content streamed in `pieces`."""
    splitter = ThinkSplitter()
    out = [p for piece in pieces for p in splitter.feed(piece)] + splitter.finish()
    thinking = "".join(p for p in out if isinstance(p, Reasoning))
    return thinking, "".join(p for p in out if not isinstance(p, Reasoning))


def cuts(text: str, points: list[int]) -> list[str]:
    edges = sorted({0, len(text), *(p % (len(text) + 1) for p in points)})
    return [text[a:b] for a, b in pairwise(edges)]


class TestThinkSplitter:
    def test_leading_block_is_thinking(self) -> None:
        """<think>…</think> at the start is thinking; the blank lines after it are dropped."""
        found = split(["<think>\nweigh it\n</think>\n\nThe answer."])
        assert found == ("weigh it\n", "The answer.")

    def test_content_without_a_block_is_all_answer(self) -> None:
        """An answer that does not start with the tag is left as it is, tags inside included."""
        text = "Use <think> tags like this: <think>x</think>"
        assert split([text]) == ("", text)

    def test_unclosed_block_is_all_thinking(self) -> None:
        """A stream that ends inside the block (out of tokens) gave only thinking."""
        assert split(["<think>still going"]) == ("still going", "")

    def test_newlines_opening_the_block_are_dropped_however_cut(self) -> None:
        """A cut right after <think> still drops the newlines that open the block."""
        assert split(["<think>", "\n", "\nhm</think>\n\nok"]) == ("hm", "ok")
        assert split(["<think>", "\n</think>\n\n<"]) == ("", "<")

    @given(
        thought=st.text(alphabet="ab <>/\n", max_size=30).filter(lambda t: "</think>" not in t),
        answer=st.text(alphabet="xy <>/\n", min_size=1, max_size=30).filter(lambda a: a.strip()),
        points=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    )
    def test_any_cutting_gives_the_same_split(
        self, thought: str, answer: str, points: list[int]
    ) -> None:
        """However the stream cuts the text (tags included), thinking and answer come out
        the same."""
        text = f"<think>{thought}</think>\n\n{answer}"
        whole = split([text])
        assert split(cuts(text, points)) == whole
        assert whole == (thought.lstrip("\n"), answer.lstrip())


class TestDeltaFields:
    @pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
    def test_either_field_is_thinking(self, field: str) -> None:
        """DeepSeek's / llama.cpp's `reasoning_content` and OpenRouter's / Ollama's `reasoning`."""
        found = reasoning_delta({"content": None, field: "hmm"})
        assert isinstance(found, Reasoning) and found == "hmm"
        assert reasoning_delta({"content": "answer"}) is None


class TestThroughTheClient:
    @pytest.mark.parametrize("kind", ["reasoning_content", "reasoning", "think"])
    async def test_thinking_passed_apart_and_kept_out_of_the_answer(
        self, model: FakeOpenAI, kind: str
    ) -> None:
        """The thinking reaches on_delta as Reasoning pieces; the answer's text is the answer."""
        model.dialect = FakeDialect(reasoning=kind)  # type: ignore[arg-type]
        pieces: list[str] = []

        async def on_delta(piece: str) -> None:
            pieces.append(piece)

        llm = LLMClient(api_key=model.api_key, base_url=model.base_url, timeout=5,
                        retry=FAST_RETRY, dialect=Dialect())  # fmt: skip
        done = await llm.complete(
            MESSAGES, model="r1", max_tokens=50, temperature=0, on_delta=on_delta
        )
        await llm.close()
        assert done.text == "echo: question"
        thinking = "".join(p for p in pieces if isinstance(p, Reasoning))
        assert thinking.strip() == THOUGHT
        assert "".join(p for p in pieces if not isinstance(p, Reasoning)) == done.text

    async def test_think_tags_off(self, model: FakeOpenAI) -> None:
        """think_tags = false: the content is the answer as it comes, block and all."""
        model.dialect = FakeDialect(reasoning="think")
        llm = LLMClient(api_key=model.api_key, base_url=model.base_url, timeout=5,
                        retry=FAST_RETRY, dialect=Dialect(think_tags=False))  # fmt: skip
        done = await llm.complete(MESSAGES, model="r1", max_tokens=50, temperature=0)
        await llm.close()
        assert done.text.startswith("<think>") and done.text.endswith("echo: question")
