"""End to end: Markdown shown as Telegram formatting, streamed and final; long answers split."""

from __future__ import annotations

import pytest

from bot.telegram.format.render import convert_markdown, render, utf16_len
from tests.fakes.openai import Reply
from tests.fakes.telegram import SentMessage
from tests.support.chats import GROUP, PRIVATE
from tests.support.parts import part_starts
from tests.support.running import LogCapture, RunningBot

TORTURE = {
    "unbalanced": "Unbalanced *stars, _underscores and [brackets with **bold that never ends",
    "unclosed_fence": "Run this:\n\n```python\nprint('the fence is never closed')\nx = 1 * 2\n",
    "nested": "***bold italic*** and **bold _italic inside_ bold** and ~~**struck bold**~~",
    "link_parens": "[Python](https://en.wikipedia.org/wiki/Python_(programming_language)) (see)",
    "emoji_non_bmp": "Family 👩‍👩‍👧‍👦, flag 🇺🇦, math 𝕏𝕐 and **bold 😀 emoji** `code 🚀`",
    "rtl": "שלום **עולם** and مرحبا _بالعالم_ mixed with English",
    "markup_chars": "Literal <b>html</b> & \\*escaped\\* and `a * b_c` with trailing \\",
    "blocks": "# Heading\n\n- one\n  - nested **two**\n1. first\n\n> quoted _text_\n\n| a | b |\n|---|---|\n| 1 | 2 |",  # noqa: E501
}


def long_answer() -> str:
    """About 12,000 characters: paragraphs with formatting and code blocks in between."""
    paragraph = (
        "This paragraph explains **one step** of the process with `inline code`, a "
        "[link](https://example.org/docs) and enough words to make the answer long. "
    ) * 3
    code = "```python\n" + "\n".join(f"value_{n} = compute({n}) * 2" for n in range(40)) + "\n```"
    blocks: list[str] = []
    n = 0
    while sum(len(b) + 2 for b in blocks) < 12_000:
        blocks.append(f"## Step {n}\n\n{paragraph}" if n % 3 else code)
        n += 1
    return "\n\n".join(blocks)


def shown(message: SentMessage) -> tuple[str, list[tuple[str, int, int]]]:
    return message.text, [(e["type"], e["offset"], e["length"]) for e in message.entities]


async def ask_each(
    bot: RunningBot, logs: LogCapture, chat_id: int, answers: list[str]
) -> list[SentMessage]:
    """Ask once per answer (each streamed in 8 chunks); return the bot's messages."""
    bot.model.script(*[Reply(a, chunks=8, chunk_delay=0.03) for a in answers])
    for count, _ in enumerate(answers, start=1):
        if chat_id > 0:
            bot.telegram.send_private_text(chat_id, f"question {count}")
        else:
            text = f"@test_llm_bot question {count}"
            bot.telegram.send_group_text(chat_id, text, user_id=7, first_name="Al")
        await logs.wait_for("reply_finished", count, timeout=30)
    return bot.telegram.messages(chat_id)


class TestMarkdownTorture:
    @pytest.mark.parametrize("chat_id", [PRIVATE, GROUP], ids=["private", "group"])
    async def test_every_case_is_delivered(
        self, bot: RunningBot, logs: LogCapture, chat_id: int
    ) -> None:
        """Broken, nested, non-BMP and RTL Markdown: streamed and delivered, nothing rejected."""
        await bot.restart(STREAM_EDIT_INTERVAL="0.2")
        cases = list(TORTURE.values())
        messages = await ask_each(bot, logs, chat_id, cases)
        assert [m.text for m in messages] == [convert_markdown(c).text for c in cases]
        assert all(m.text.strip() for m in messages)
        for event in ("formatting_rejected", "stream_formatting_rejected", "drafts_refused"):
            assert logs.named(event) == []
        assert [e["outcome"] for e in logs.named("reply_finished")] == ["answered"] * len(cases)
        streamed = logs.named("stream_finished")
        assert all(e["drafts"] + e["sends"] >= 1 for e in streamed), "partial text was shown"

    async def test_formatting_kinds_arrive_as_entities(
        self, bot: RunningBot, logs: LogCapture
    ) -> None:
        """Bold, italic, code, a fenced block with its language, links, quotes: all entities."""
        answer = (
            "**bold** _italic_ `code` [link](https://example.org)\n\n> quote\n\n"
            "```python\nprint(1)\n```"
        )
        [message] = await ask_each(bot, logs, PRIVATE, [answer])
        kinds = {e["type"] for e in message.entities}
        assert {"bold", "italic", "code", "text_link", "blockquote", "pre"} <= kinds
        [pre] = [e for e in message.entities if e["type"] == "pre"]
        assert pre["language"] == "python"

    @pytest.mark.parametrize("chat_id", [PRIVATE, GROUP], ids=["private", "group"])
    async def test_rejected_formatting_goes_plain(
        self, bot: RunningBot, logs: LogCapture, chat_id: int
    ) -> None:
        """If Telegram still rejects the formatting, the same text arrives plain."""
        method = "sendMessage" if chat_id > 0 else "editMessageText"
        bot.telegram.fail_next(
            method, 400, "Bad Request: can't parse entities: unsupported", chat_id=chat_id
        )
        answer = "**Bold** then plain words, " + "more words " * 10
        [message] = await ask_each(bot, logs, chat_id, [answer])
        assert message.text == convert_markdown(answer).text
        assert logs.named("formatting_rejected") or logs.named("stream_formatting_rejected")


class TestLongAnswers:
    @pytest.mark.parametrize("chat_id", [PRIVATE, GROUP], ids=["private", "group"])
    async def test_twelve_thousand_characters(
        self, bot: RunningBot, logs: LogCapture, chat_id: int
    ) -> None:
        """A 12,000-character answer with code: valid parts, in order, nothing lost, no 429."""
        bot.telegram.flood_limit(1.0)
        answer = long_answer()
        assert len(answer) >= 12_000
        bot.model.script(Reply(answer, chunks=60, chunk_delay=0.02))
        if chat_id > 0:
            bot.telegram.send_private_text(chat_id, "long please")
        else:
            bot.telegram.send_group_text(chat_id, "@test_llm_bot long", user_id=7, first_name="Al")
        await logs.wait_for("reply_finished", timeout=40)
        messages = bot.telegram.messages(chat_id)
        expected = render(answer)
        assert len(expected) >= 3
        assert [shown(m) for m in messages] == [
            (p.text, [(e.type, e.offset, e.length) for e in p.entities]) for p in expected
        ]
        assert all(utf16_len(m.text) <= 4096 for m in messages)
        part_starts(convert_markdown(answer).text, [m.text for m in messages])
        assert bot.telegram.flood_errors == []
