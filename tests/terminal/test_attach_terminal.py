"""End to end: /attach in `python -m bot chat`: a local file goes with the next question."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI
from tests.support.media import JPEG, images_in
from tests.support.running import API_KEY
from tests.support.terminal import Terminal

OpenChat = Callable[..., Terminal]


@pytest.fixture
def open_chat(model: FakeOpenAI, tmp_path: Path) -> Iterator[OpenChat]:
    """`python -m bot chat` on the fake model (which sees images and transcribes)."""
    env = {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "VISION_MODELS": "gpt-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    opened: list[Terminal] = []

    def open_(*args: str) -> Terminal:
        opened.append(Terminal(env, *args))
        return opened[-1]

    yield open_
    for terminal in opened:
        terminal.close()


class TestAttach:
    async def test_image_document_and_recording(
        self, open_chat: OpenChat, model: FakeOpenAI, tmp_path: Path
    ) -> None:
        """An attached image reaches the model as an image part, a text file as its text, a
        recording as its transcript (shown); a missing file gets the usage line."""
        photo, notes, memo = tmp_path / "cat.jpg", tmp_path / "notes.txt", tmp_path / "memo.ogg"
        photo.write_bytes(JPEG)
        notes.write_text("remember the milk\n")
        memo.write_bytes(b"spoken question")
        term = open_chat()
        await term.prompt()
        term.type(f"/attach {photo}")
        await term.wait_for("Attached cat.jpg")
        await term.prompt()
        term.type("what animal?")
        await term.wait_for("echo: [an image] what animal?")
        assert images_in(model.requests[-1]) == [JPEG]
        await term.prompt()
        term.type(f"/attach {notes}")
        await term.wait_for("Attached notes.txt")
        await term.prompt()
        term.type("what to buy?")
        await term.wait_for("tokens")
        assert "remember the milk" in model.requests[-1].messages[-1]["content"]
        await term.prompt()
        term.type(f"/attach {memo}")
        await term.wait_for("Attached memo.ogg")
        await term.prompt()
        term.type("")
        term.type("and?")
        await term.wait_for("🎤 spoken question")
        await term.wait_for("echo: and?")
        await term.prompt()
        term.type(f"/attach {tmp_path / 'nope.txt'}")
        await term.wait_for("Usage: /attach PATH")
        await term.prompt()
        term.type("/exit")
        assert await term.exit_code() == 0
