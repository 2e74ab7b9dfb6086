"""One streamed attempt at a chat completion: the request, and the chunks read into text.

Knows nothing of retries or of our error types: the SDK's errors propagate to the client,
which retries and translates them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config.providers import DEFAULT_DIALECT, Dialect
from bot.engine.models.completion import OnDelta, TokenCount
from bot.engine.models.dialects import request_body
from bot.engine.models.reasoning import Reasoning, ThinkSplitter, reasoning_delta
from bot.engine.models.sdk import bad_request_error
from bot.engine.models.tool_calls import ToolCall, ToolCallAssembler
from bot.engine.models.translation import error_message
from bot.observability.logs import get_logger

if TYPE_CHECKING:
    import openai

log = get_logger(__name__)


@dataclass(frozen=True)
class Streamed:
    """What one attempt received: the text, the usage if reported, the first token's time."""

    text: str
    usage: TokenCount | None
    first_token_at: float | None  # time.monotonic() when the first text arrived
    tool_calls: tuple[ToolCall, ...] = ()


class CompletionStream:
    """Streams answers over one SDK client (`client()` makes it on first use: sdk.py); drops
    `stream_options` for good once refused, and `tools` for good for a model whose provider
    refused them."""

    def __init__(
        self,
        client: Callable[[], openai.AsyncOpenAI],
        dialect: Dialect = DEFAULT_DIALECT,
        reasoning: frozenset[str] = frozenset(),
    ) -> None:
        self._client = client
        self._dialect = dialect
        self._reasoning = reasoning  # the ids of reasoning models (no temperature for some)
        self._stream_options = dialect.stream_options  # dropped for good once refused
        self.tools_refused: set[str] = set()  # models whose provider rejected `tools`

    async def once(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None,
        shown: list[str],
        tools: Sequence[dict[str, Any]] = (),
    ) -> Streamed:
        """Stream one answer; each piece of text is appended to `shown` as it is passed on.
        `tools` (OpenAI function definitions) are offered unless this model's provider
        refused them before."""
        body = request_body(
            self._dialect,
            messages,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            reasoning=model in self._reasoning,
        )
        if self._stream_options:
            body["stream_options"] = {"include_usage": True}
        if tools and model not in self.tools_refused:
            body["tools"] = list(tools)
        try:
            stream = await self._post_stream(body)
        except bad_request_error() as exc:
            stream = await self._without_refused(body, exc, model)
        splitter = ThinkSplitter() if self._dialect.think_tags else None
        return await _read(stream, on_delta, shown, splitter)

    async def _without_refused(
        self, body: dict[str, Any], exc: openai.BadRequestError, model: str
    ) -> openai.AsyncStream[object]:
        """Ask again without the parameter the provider refused (once each), or raise."""
        said = f"{exc.message} {error_message(exc.body)}"
        if self._stream_options and "stream_options" in said:
            log.info("stream_options_unsupported", model=model)
            self._stream_options = False
            body.pop("stream_options", None)
        elif "tools" in body and "tool" in said.lower():
            log.warning("tools_unsupported", model=model)
            self.tools_refused.add(model)
            body.pop("tools")
        else:
            raise exc
        try:
            return await self._post_stream(body)
        except bad_request_error() as again:  # each step drops one parameter: bounded
            return await self._without_refused(body, again, model)

    async def _post_stream(self, body: dict[str, Any]) -> openai.AsyncStream[object]:
        """POST /chat/completions through the SDK's generic ``post`` (its documented way to
        make any request with the client's auth, base URL, timeout and error types), asking
        for the stream's chunks as the plain JSON objects they are (``cast_to=object``).

        ``chat.completions.create`` costs far more for the same request and stream: it walks
        every parameter through a TypedDict transform (~0.13 ms per history message: 5.5 ms
        for 41 messages) and builds a pydantic ChatCompletionChunk for each chunk (~0.09 ms a
        chunk, with a runtime Protocol check; a 300-token answer is ~300 chunks). The SDK
        still decodes the SSE stream and raises its errors (HTTP status and ``error`` events).
        """
        import openai  # noqa: PLC0415 - loaded by self._client() already (sdk.py)

        return await self._client().post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )


async def _read(
    stream: openai.AsyncStream[object],
    on_delta: OnDelta | None,
    shown: list[str],
    splitter: ThinkSplitter | None,
) -> Streamed:
    """The answer's text; its pieces, and the thinking (`Reasoning`), passed on as they come."""
    usage: TokenCount | None = None
    first: float | None = None
    parts: list[str] = []
    calls = ToolCallAssembler()

    async def passed(pieces: list[str]) -> None:
        nonlocal first
        for piece in pieces:
            first = first or time.monotonic()
            if not isinstance(piece, Reasoning):  # thinking is shown, never kept as answer
                parts.append(piece)
                shown.append(piece)
            if on_delta is not None:
                await on_delta(piece)

    async with stream:
        async for chunk in stream:
            if isinstance(chunk, dict):
                usage = _usage(chunk) or usage
                calls.add(chunk)
                await passed(_deltas(chunk, splitter))
    await passed(splitter.finish() if splitter else [])
    return Streamed("".join(parts), usage, first, calls.calls())


def _usage(chunk: dict[str, Any]) -> TokenCount | None:
    """The usage a chunk reports (the last chunk, when stream_options asked for it)."""
    usage = chunk.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenCount(prompt, completion)


def _deltas(chunk: dict[str, Any], splitter: ThinkSplitter | None) -> list[str]:
    """The non-empty pieces of a chunk (one choice; we ask for one): thinking sent in a field
    of its own as `Reasoning`, then the content (split at a leading <think> block)."""
    found: list[str] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        thought = reasoning_delta(delta)
        if thought is not None:
            found.append(thought)
        content = delta.get("content")
        if isinstance(content, str) and content:
            found += splitter.feed(content) if splitter else [content]
    return found
