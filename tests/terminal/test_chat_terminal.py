"""End to end: `python -m bot chat` typed into through a pseudo-terminal, on the fake model."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes._oai_payloads import split_text
from tests.fakes.openai import Error, FakeOpenAI, Reply
from tests.support.running import API_KEY
from tests.support.terminal import Terminal, log_events

OpenChat = Callable[..., Terminal]
UNKNOWN = "Unknown command. Commands: /clear /stats /model /retry /tools /attach /help /exit"
FOOTER = re.compile(r"gpt-test · ([\d,]+) → ([\d,]+) tokens")


@pytest.fixture
def chat_env(model: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    """The fake model as the provider, a fresh database, and no Telegram token at all."""
    return {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "OPENAI_MODELS": "gpt-test,gpt-other",
        "OPENAI_RETRY_MAX_SECONDS": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "LOG_LEVEL": "DEBUG",
        # No terminal answers cursor-position queries in a test; don't ask.
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }


@pytest.fixture
def open_chat(chat_env: dict[str, str]) -> Iterator[OpenChat]:
    """Start `python -m bot chat ARGS...`; every one started is killed at the end if still up."""
    opened: list[Terminal] = []

    def open_(*args: str) -> Terminal:
        opened.append(Terminal(chat_env, *args))
        return opened[-1]

    yield open_
    for terminal in opened:
        terminal.close()


def user_texts(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def tokens(footer: str) -> tuple[int, int]:
    found = FOOTER.search(footer)
    assert found, f"no token footer in {footer!r}"
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


def turn_states(database: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT user_text, state, error_type FROM turns ORDER BY id").fetchall()


class TestConversation:
    async def test_streams_answers_shows_stats_and_resumes(
        self, open_chat: OpenChat, model: FakeOpenAI, tmp_path: Path
    ) -> None:
        """Two messages get streamed, rendered answers; /stats adds up; reopening resumes."""
        answer = "Streaming shows this first, then the rest of the answer arrives."
        first_piece = split_text(answer, None, model.words_per_chunk)[0]
        resume = asyncio.Event()
        model.script(
            Reply(answer, hold=resume),
            Reply("Here is a list:\n\n- **one**\n- `two`"),
        )
        term = open_chat("--chat", "work")
        await term.prompt()
        term.type("hello there")
        await term.wait_for(first_piece)
        assert "the rest of the answer" not in term.screen  # the model has not sent it yet
        resume.set()
        await term.wait_for(answer)
        first = tokens(await term.wait_for("tokens"))

        await term.prompt()
        term.type("make a list")
        shown = await term.wait_for("• two")
        assert "• one" in shown
        assert "**" not in shown
        assert "`" not in shown
        second = tokens(await term.wait_for("tokens"))

        await term.prompt()
        term.type("/stats")
        stats = await term.wait_for("completion")
        assert re.search(r"Messages in memory\s+4", stats)
        assert re.search(r"Requests\s+2", stats)
        prompt_tokens, completion_tokens = first[0] + second[0], first[1] + second[1]
        assert re.search(rf"Tokens\s+{prompt_tokens:,} prompt · {completion_tokens:,}", stats)
        await term.prompt()
        term.type("/exit")
        assert await term.exit_code() == 0

        answered = log_events(tmp_path / "chat.log", "reply_finished")
        assert [(e["chat_key"], e["outcome"]) for e in answered] == [("term:work", "answered")] * 2

        again = open_chat("--chat", "work")
        await again.wait_for("Resuming")
        await again.wait_for("hello there")
        await again.wait_for("• two")
        await again.prompt()
        again.type("and now?")
        await again.wait_for("echo: and now?")
        assert user_texts(model.requests[-1].messages) == ["hello there", "make a list", "and now?"]
        await again.prompt()
        again.ctrl("d")
        assert await again.exit_code() == 0

    async def test_each_name_is_its_own_chat(self, open_chat: OpenChat, model: FakeOpenAI) -> None:
        """--chat NAME keeps a separate history per name; the default chat is another one."""
        work = open_chat("--chat", "work")
        await work.prompt()
        work.type("work secret")
        await work.wait_for("echo: work secret")
        await work.prompt()
        work.type("/exit")
        assert await work.exit_code() == 0

        home = open_chat()
        home_greeting = await home.wait_for("you › ")
        assert "Resuming" not in home_greeting
        home.type("home question")
        await home.wait_for("echo: home question")
        assert user_texts(model.requests[-1].messages) == ["home question"]
        await home.prompt()
        home.type("/exit")
        assert await home.exit_code() == 0


class TestCommands:
    async def test_retry_replaces_the_last_answer(
        self, open_chat: OpenChat, model: FakeOpenAI, tmp_path: Path
    ) -> None:
        """/retry with nothing to retry says so; then it asks again and the new answer replaces
        the old one in the history."""
        model.script(Reply("First try."), Reply("Second try."), Reply("Third."))
        term = open_chat("--chat", "again")
        await term.prompt()
        term.type("/retry")
        await term.wait_for("nothing to retry yet")
        term.type("a question")
        await term.wait_for("First try.")
        await term.prompt()
        term.type("/retry")
        await term.wait_for("Second try.")
        assert user_texts(model.requests[-1].messages) == ["a question"]
        await term.prompt()
        term.type("next")
        await term.wait_for("Third.")
        await term.prompt()  # the answer is recorded before the next prompt
        history = model.requests[-1].messages
        assert [m["content"] for m in history if m["role"] == "assistant"] == ["Second try."]
        assert turn_states(tmp_path / "bot.db") == [
            ("a question", "answered", None),
            ("next", "answered", None),
        ]
        term.type("/exit")

    async def test_model_clear_help_and_unknown(
        self, open_chat: OpenChat, model: FakeOpenAI
    ) -> None:
        """/model lists and switches, /clear forgets, /help lists; unknown: said so; ↑ recalls."""
        term = open_chat("--chat", "cmds")
        await term.prompt()
        term.type("/model")
        listing = await term.wait_for("Switch with /model NAME")
        assert "✓ gpt-test" in listing
        assert "gpt-other" in listing
        term.type("/model GPT-OTHER")
        await term.wait_for("Model switched to gpt-other")
        term.type("remember me")
        await term.wait_for("echo: remember me")
        assert model.requests[-1].model == "gpt-other"
        await term.prompt()
        term.type("/clear")
        await term.wait_for("Forgot this conversation")
        term.type("fresh start")
        await term.wait_for("echo: fresh start")
        assert user_texts(model.requests[-1].messages) == ["fresh start"]
        await term.prompt()
        term.type("/model nonexistent")
        await term.wait_for("Unknown model. Choose one of: gpt-test, gpt-other")
        term.type("/help")
        await term.wait_for("Leave (or press Ctrl-D)")
        term.type("/frobnicate")
        await term.wait_for(UNKNOWN)
        term.type("\x1b[A")  # the up arrow brings back the last line: /frobnicate again
        await term.wait_for(UNKNOWN)
        term.type("/exit")
        assert await term.exit_code() == 0


class TestFailures:
    async def test_ctrl_c_stops_the_answer_not_the_chat(
        self, open_chat: OpenChat, model: FakeOpenAI, tmp_path: Path
    ) -> None:
        """Ctrl-C while an answer streams stops it (stored as interrupted); the chat goes on."""
        answer = "This answer will never be finished by the model at all."
        model.script(Reply(answer, hold=asyncio.Event()))
        term = open_chat("--chat", "stop")
        await term.prompt()
        term.type("tell me a long story")
        await term.wait_for(split_text(answer, None, model.words_per_chunk)[0])
        term.ctrl("c")
        await term.wait_for("(stopped)")
        await term.prompt()
        term.type("short one")
        await term.wait_for("echo: short one")
        assert user_texts(model.requests[-1].messages) == ["short one"]
        await term.prompt()
        term.type("/exit")
        assert await term.exit_code() == 0
        assert turn_states(tmp_path / "bot.db") == [
            ("tell me a long story", "failed", "interrupted"),
            ("short one", "answered", None),
        ]

    async def test_model_error_is_one_short_line(
        self, open_chat: OpenChat, model: FakeOpenAI, tmp_path: Path
    ) -> None:
        """A refused key shows the short message for it, no traceback, and the chat goes on."""
        model.script(Error(401, "Incorrect API key provided", code="invalid_api_key"))
        term = open_chat("--chat", "oops")
        await term.prompt()
        term.type("hello?")
        shown = await term.wait_for("check the API key.")
        assert "access was refused" in shown
        assert "Traceback" not in term.screen
        await term.prompt()
        term.type("/exit")
        assert await term.exit_code() == 0
        [failed] = log_events(tmp_path / "chat.log", "reply_finished")
        assert (failed["outcome"], failed["error_type"]) == ("failed", "auth")
