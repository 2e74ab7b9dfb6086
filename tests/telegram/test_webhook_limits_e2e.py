"""The webhook's doors: the secret and the size are checked before a byte of the body is read,
a malformed body is a 400 that logs nothing of it, and the bot's memory does not grow under
oversized posts (measured on the real process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.telegram.app.webhook import MAX_BODY_BYTES, SECRET_HEADER
from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from tests.support.botprocess import BotProcess
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import LogCapture, RunningBot
from tests.support.service import private_update, start_until_logged, unused_port

SECRET = "s3cret-Webhook_token-42"
PATH = "/telegram/hook"
FIVE_MB = 5 * 1024 * 1024


@dataclass
class Hook:
    port: int
    bot: RunningBot | None = None


def request_head(length: int, secret: str | None, *, chunked: bool = False) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_of(reader: asyncio.StreamReader) -> int | None:
    """The response's status code; None when the server closed without one."""
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
    except ConnectionError:
        return None
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1") else None


async def push(writer: asyncio.StreamWriter, size: int) -> None:
    """Send `size` bytes of body as an attacker would, however the server answers."""
    chunk = b"x" * 65536
    with contextlib.suppress(ConnectionError):
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()


async def answer_to_headers(port: int, length: int, secret: str | None) -> int | None:
    """Send only the headers of a post of `length` bytes: the server must answer already."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_head(length, secret))
        await writer.drain()
        status = await status_of(reader)
        await push(writer, length)  # the rest comes anyway: it must not be kept
        return status
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def blast(port: int, length: int, secret: str | None) -> None:
    """Send the headers and the whole body at once, without waiting for an answer (which is
    often lost: the server closes the connection while the body is still coming)."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_head(length, secret))
        await push(writer, length)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def post(port: int, body: bytes, secret: str | None = SECRET) -> int | None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_head(len(body), secret) + body)
        await writer.drain()
        return await status_of(reader)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.fixture
async def hook(
    logs: LogCapture,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Hook]:
    """The real bot in webhook mode, in this event loop."""
    port = unused_port()
    running = RunningBot(telegram, model, bot_env, monkeypatch)
    await start_until_logged(
        running,
        logs,
        WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=SECRET,
    )
    try:
        yield Hook(port, running)
    finally:
        await running.stop()


class TestBeforeTheBody:
    @pytest.mark.parametrize("secret", [None, "wrong-secret-of-the-right-form"])
    async def test_wrong_secret_is_refused_on_the_headers(
        self, hook: Hook, logs: LogCapture, secret: str | None
    ) -> None:
        """403 arrives before the body is sent; the refusal is logged without the header."""
        assert await answer_to_headers(hook.port, 1000, secret) == 403
        [refused] = logs.named("webhook_refused")
        assert refused["reason"] == "secret" and refused["status"] == 403
        if secret is not None:
            assert secret not in logs.text

    async def test_too_large_is_refused_on_the_headers_even_with_the_secret(
        self, hook: Hook, logs: LogCapture
    ) -> None:
        """A Content-Length over 1 MB gets 413 before the body is sent, right secret or not."""
        assert await answer_to_headers(hook.port, FIVE_MB, SECRET) == 413
        assert await answer_to_headers(hook.port, MAX_BODY_BYTES + 1, SECRET) == 413
        assert [e["reason"] for e in logs.named("webhook_refused")] == ["too_large"] * 2

    async def test_a_chunked_body_is_cut_off_at_1_mb(self, hook: Hook, logs: LogCapture) -> None:
        """Without a Content-Length, the server stops reading at 1 MB: 413 (unless the client
        is still sending when it closes), logged as too large."""
        reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
        writer.write(request_head(0, SECRET, chunked=True))
        chunk = b"x" * 65536
        with contextlib.suppress(ConnectionError):
            for _ in range(FIVE_MB // len(chunk)):
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
        assert await status_of(reader) in {413, None}  # never a 200
        assert [e["reason"] for e in logs.named("webhook_refused")] == ["too_large"]
        writer.close()

    async def test_a_trickled_body_is_cut_off_with_408(
        self, hook: Hook, logs: LogCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A body that does not arrive within the body timeout (30 s; 0.5 s here): 408, the
        connection closed, logged as a timeout, and nothing put on the queue."""
        monkeypatch.setattr("bot.telegram.app.webhook.BODY_TIMEOUT_S", 0.5)
        reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
        try:
            writer.write(request_head(1000, SECRET) + b'{"update_id": ')
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)  # up to the end of the stream
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408")
        refused = logs.named("webhook_refused")
        assert [(e["status"], e["reason"]) for e in refused] == [(408, "timeout")]
        assert hook.bot is not None and not hook.bot.telegram.calls_of("sendMessage")

    @pytest.mark.parametrize(("length", "secret"), [(1000, "wrong"), (FIVE_MB, SECRET)])
    async def test_the_connection_is_closed_after_a_refusal(
        self, hook: Hook, length: int, secret: str
    ) -> None:
        """Refused on its headers, the connection is closed at once: the server does not wait
        for the body it announced (to read and discard it)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
        try:
            writer.write(request_head(length, secret))
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 2)  # up to the end of the stream
        finally:
            writer.close()
        assert answer.startswith((b"HTTP/1.1 403", b"HTTP/1.1 413"))

    async def test_an_update_just_under_the_limit_is_taken(self, hook: Hook) -> None:
        """The limit leaves room: a 900 KB update with the secret is answered."""
        update = private_update(PRIVATE, "big " + "y" * 900_000)
        assert hook.bot is not None
        hook.bot.telegram.register_update(update)
        assert await post(hook.port, json.dumps(update).encode()) == 200
        assert (await answer_in(hook.bot, PRIVATE)).startswith("echo: big")


class TestMalformed:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"update_id": 7, "message": {"text": "PAYLOAD-private-words"',  # cut off
            b'{"update_id": 7, "message": "PAYLOAD-private-words"}',  # not an update
            b'["PAYLOAD-private-words"]',
            b"\xffPAYLOAD-private-words",  # not UTF-8
        ],
    )
    async def test_400_and_nothing_of_it_logged(
        self, hook: Hook, logs: LogCapture, body: bytes
    ) -> None:
        """Malformed JSON with the right secret: 400, one info line, no payload, no CRITICAL."""
        assert await post(hook.port, body) == 400
        [refused] = logs.named("webhook_refused")
        assert refused["reason"] == "malformed" and refused["level"] == "info"
        assert "PAYLOAD" not in logs.text
        assert not [e for e in logs.events if e.get("level") in {"critical", "error"}]
        assert hook.bot is not None
        assert hook.bot.model.requests == []

    async def test_the_right_secret_still_works_after_refusals(self, hook: Hook) -> None:
        """After every kind of refusal, a real update is answered as usual."""
        assert await post(hook.port, b"{", SECRET) == 400
        assert await answer_to_headers(hook.port, 10, "nope-nope-nope-nope") == 403
        assert hook.bot is not None
        status = await hook.bot.telegram.deliver_webhook(private_update(PRIVATE, "hi"), SECRET)
        assert status == 200
        assert await answer_in(hook.bot, PRIVATE) == "echo: hi"


class TestMemoryOfTheRealProcess:
    async def test_oversized_posts_do_not_grow_the_process(
        self, telegram: FakeTelegram, bot_env: dict[str, str]
    ) -> None:
        """Concurrent 5 MB posts: eight with a wrong secret (403) and eight with the right one
        (413) answered on their headers, eight more sent whole at once; the bot process's peak
        resident memory (VmHWM) grows by less than 20 MB."""
        port = unused_port()
        env = {
            **bot_env,
            "WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}",
            "WEBHOOK_PORT": str(port),
            "WEBHOOK_SECRET": SECRET,
        }
        process = await BotProcess.spawn(env)
        try:
            await process.wait_for("bot_started")
            before = process.memory_kb()
            wrong = [answer_to_headers(port, FIVE_MB, "wrong-" + SECRET) for _ in range(8)]
            right = [answer_to_headers(port, FIVE_MB, SECRET) for _ in range(8)]
            blasts = [blast(port, FIVE_MB, "wrong-" + SECRET) for _ in range(8)]
            *statuses, _ = await asyncio.gather(*wrong, *right, asyncio.gather(*blasts))
            after = process.memory_kb()
        finally:
            await process.terminate()
        assert statuses == [403] * 8 + [413] * 8
        growth_mb = (after - before) / 1024
        print(f"peak RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB (+{growth_mb:.1f} MB)")
        assert growth_mb < 20
