"""End to end: text files and PDFs become part of the question, headed by their name; long
ones are cut with a note; files that cannot be read get one short answer."""

from __future__ import annotations

from typing import ClassVar

from fpdf import FPDF

from tests.fakes.telegram_files import document_fields
from tests.support.chats import PRIVATE, answer_in
from tests.support.database import stored_turns
from tests.support.running import LogCapture, RunningBot


def pdf(*lines: str, password: str | None = None) -> bytes:
    """A real PDF with the lines as text (none: a page with only a drawn rectangle)."""
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    for line in lines:
        document.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    if not lines:
        document.rect(10, 10, 50, 50, style="F")
    if password is not None:
        document.set_encryption(owner_password=password, user_password=password)
    return bytes(document.output())


def send_file(
    bot: RunningBot, data: bytes, name: str, mime: str, caption: str | None = None
) -> None:
    fields = document_fields(bot.telegram.files, data, name, mime, caption)
    bot.telegram.send_private_update(PRIVATE, fields)


def question(bot: RunningBot) -> str:
    content = bot.model.requests[-1].messages[-1]["content"]
    assert isinstance(content, str)
    return content


class TestReadable:
    async def test_text_file_with_caption(self, bot: RunningBot) -> None:
        """A text file: the caption, then its text headed by its name."""
        send_file(bot, b"line one\nline two\n", "notes.md", "text/markdown", "What's here?")
        assert (await answer_in(bot, PRIVATE)).startswith("echo: What's here?")
        assert question(bot) == (
            'What\'s here?\n\n<document name="notes.md">\nline one\nline two\n\n</document>'
        )

    async def test_encoding_is_detected(self, bot: RunningBot) -> None:
        """A file in Windows-1251 is read as the Cyrillic it is."""
        text = "Привет, это проверка кодировки файла. Всё ли читается правильно?\n" * 3
        send_file(bot, text.encode("cp1251"), "log.txt", "text/plain")
        await answer_in(bot, PRIVATE)
        assert "Привет, это проверка кодировки" in question(bot)
        assert question(bot).startswith("Summarise this document.")

    async def test_pdf_text_is_extracted(self, bot: RunningBot) -> None:
        """A real PDF: its text reaches the model; no caption asks for a summary."""
        send_file(
            bot, pdf("Quarterly report", "Revenue grew by 12 percent"), "q.pdf", "application/pdf"
        )
        await answer_in(bot, PRIVATE)
        asked = question(bot)
        assert asked.startswith('Summarise this document.\n\n<document name="q.pdf">')
        assert "Quarterly report" in asked and "Revenue grew by 12 percent" in asked


class TestTruncated:
    ENV: ClassVar[dict[str, str]] = {"DOCUMENT_MAX_TOKENS": "100"}

    async def test_long_document_is_cut_with_a_note(self, bot: RunningBot) -> None:
        """Past DOCUMENT_MAX_TOKENS the text is cut at a line end and the user told how much
        was read, before the answer."""
        text = "".join(f"line {n} of a long log\n" for n in range(200))
        send_file(bot, text.encode(), "big.log", "text/plain", "errors?")
        await answer_in(bot, PRIVATE, 2)
        note = bot.telegram.messages(PRIVATE)[0].text
        assert note.startswith("big.log is long: I read the first ") and "%" in note
        asked = question(bot)
        assert "line 0 of a long log" in asked and "line 199" not in asked
        assert "[… the rest of the file was cut]" in asked
        assert len(asked) < 600


class TestUnreadable:
    async def test_zip_and_executable(self, bot: RunningBot, logs: LogCapture) -> None:
        """A zip or an executable: one short answer, never downloaded, nothing stored."""
        send_file(bot, b"PK\x03\x04", "a.zip", "application/zip")
        assert "can't read this kind of file" in await answer_in(bot, PRIVATE)
        send_file(bot, b"MZ\x90\x00", "setup.exe", "application/x-msdownload")
        assert "can't read this kind of file" in await answer_in(bot, PRIVATE, 2)
        refused = await logs.wait_for("media_refused", 2)
        assert {r["reason"] for r in refused} == {"media_unsupported"}
        assert bot.telegram.files.downloads == [] and stored_turns(bot) == []

    async def test_encrypted_and_image_only_pdf(self, bot: RunningBot, logs: LogCapture) -> None:
        """An encrypted PDF and a PDF without text: told there is no text; turns failed."""
        send_file(bot, pdf("secret", password="pw"), "locked.pdf", "application/pdf")
        assert "no text in this PDF" in await answer_in(bot, PRIVATE)
        send_file(bot, pdf(), "scan.pdf", "application/pdf")
        assert "no text in this PDF" in await answer_in(bot, PRIVATE, 2)
        finished = await logs.wait_for("reply_finished", 2)
        assert [f["error_type"] for f in finished] == ["document_no_text"] * 2
        assert bot.model.requests == []

    async def test_undecodable_text(self, bot: RunningBot) -> None:
        """Binary bytes named .txt: told the text could not be made out."""
        send_file(bot, b"\x00\x01\x02\xff" * 50, "data.txt", "text/plain")
        assert "couldn't make out the text" in await answer_in(bot, PRIVATE)
        assert stored_turns(bot)[0][1:] == ("failed", "document_undecodable")
