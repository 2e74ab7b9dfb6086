"""The "💭 Thinking…" block: one collapsed quote in front of the answer's parts, bounded."""

from __future__ import annotations

from bot.engine.models.reasoning import Reasoning
from bot.telegram.format.render import RenderedPart, utf16_len
from bot.telegram.reply.reasoning import HEADER, MAX_SHOWN_CHARS, Thinking

ANSWER = [RenderedPart("the answer")]


class TestThinking:
    def test_only_reasoning_is_taken(self) -> None:
        """Answer pieces are left to the caller; thinking is kept."""
        thinking = Thinking()
        assert thinking.take(Reasoning("hmm")) and not thinking.take("answer")
        block = thinking.part()
        assert block is not None and block.text == f"{HEADER}\nhmm"

    def test_block_is_one_collapsed_quote_with_a_bold_header(self) -> None:
        """The whole block is an expandable quote (UTF-16 lengths), its header bold."""
        thinking = Thinking()
        thinking.take(Reasoning("naïve 👀 thought"))
        [block, answer] = thinking.before(ANSWER)
        quote, header = block.entities
        assert (quote.type, quote.offset, quote.length) == (
            "expandable_blockquote", 0, utf16_len(block.text),
        )  # fmt: skip
        assert (header.type, header.length) == ("bold", utf16_len(HEADER))
        assert answer == ANSWER[0]

    def test_long_thinking_shows_its_latest_part(self) -> None:
        """Thinking longer than one message shows its end, so the block stays one message."""
        thinking = Thinking()
        thinking.take(Reasoning("a" * 10_000 + "THE END"))
        block = thinking.part()
        assert block is not None and block.text.endswith("THE END")
        assert len(block.text) <= MAX_SHOWN_CHARS + len(HEADER) + 2
        assert utf16_len(block.text) < 4096

    def test_no_thinking_no_block(self) -> None:
        """Without thinking (or only blanks) the answer's parts are unchanged."""
        thinking = Thinking()
        assert thinking.before(ANSWER) == ANSWER
        thinking.take(Reasoning("  \n"))
        assert thinking.before(ANSWER) == ANSWER
