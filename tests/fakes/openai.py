"""FakeOpenAI: a real HTTP server speaking the OpenAI chat completions API on 127.0.0.1.

The official SDK talks to it with AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key).
Answers are deterministic ("echo: <last user message>" unless reply_with() says otherwise),
streamed as SSE chunks when asked; script() queues per-request behaviours (replies with timing,
errors, cut streams, hangs, blocks) that are consumed in order before the default applies.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web

from tests.fakes import _oai_payloads as payloads
from tests.fakes._oai_script import Behaviour, Block, ChatRequest, CutStream, Error, Hang, Reply
from tests.fakes._server import FakeServer, drop_connection, unused_port
from tests.fakes.openai_audio import AudioEndpoints
from tests.fakes.openai_dialects import FakeDialect
from tests.fakes.openai_tools import ToolCalls, stream_tool_calls

__all__ = [
    "Block", "ChatRequest", "CutStream", "Error", "FakeOpenAI", "Hang", "Reply", "unused_port",
]  # fmt: skip

DEFAULT_API_KEY = "sk-test-fake-key-123"
DEFAULT_MODEL = "gpt-4o-mini"
ReplyFn = Callable[[list[dict[str, Any]]], str]
Answerable = Reply | Error | CutStream | ToolCalls


class FakeOpenAI(FakeServer):
    """A fake OpenAI-compatible server; `async with FakeOpenAI() as llm:` or start()/stop()."""

    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[ChatRequest] = []  # chat completion requests
        self.other_requests: list[ChatRequest] = []  # /v1/models and unknown paths
        self.known_models: set[str] | None = None
        self.max_context_tokens: int | None = None
        self.stream_options_mode: Literal["honour", "ignore", "reject"] = "honour"
        self.default_ttft = 0.0
        self.default_chunk_delay = 0.0
        self.default_chunks: int | None = None  # None: split by words_per_chunk
        self.words_per_chunk = 3
        self.dialect = FakeDialect()  # another provider's differences (openai_dialects.py)
        self._script: deque[Behaviour] = deque()
        self._reply_fn: ReplyFn = payloads.echo_reply
        self._serial = 0
        self.last_usage: dict[str, int] | None = None  # usage of the last answer that sent one
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_get("/v1/models", self._models)
        self.app.router.add_get("/v1/models/{model}", self._model)
        self.audio = AudioEndpoints(self._authorized)  # /audio/transcriptions, /audio/speech
        self.audio.install(self.app.router)
        self.app.router.add_route("*", "/{tail:.*}", self._unknown)

    @property
    def base_url(self) -> str:
        """What to pass as AsyncOpenAI(base_url=...)."""
        return f"{self.origin}/v1"

    @staticmethod
    def closed_port() -> int:
        """A port with nothing listening (for connection-refused tests)."""
        return unused_port()

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours; each chat request consumes the next one."""
        self._script.extend(behaviours)

    @property
    def script_left(self) -> int:
        """How many scripted behaviours are not consumed yet."""
        return len(self._script)

    def reply_with(self, reply_fn: ReplyFn | None) -> None:
        """Compute default answers with reply_fn(messages); None restores the echo."""
        self._reply_fn = reply_fn or payloads.echo_reply

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ChatRequest]:
        """Wait until at least count chat requests arrived; return them all."""
        if not await self._wait_until(lambda: len(self.requests) >= count, timeout):
            raise TimeoutError(f"{len(self.requests)} of {count} chat requests within {timeout}s")
        return list(self.requests)

    async def wait_for_request(
        self,
        predicate: Callable[[ChatRequest], bool] | None = None,
        timeout: float = 5.0,
        since: int = 0,
    ) -> ChatRequest:
        """The first chat request at index >= since matching predicate; waits up to timeout."""

        def find() -> ChatRequest | None:
            return next((r for r in self.requests[since:] if not predicate or predicate(r)), None)

        await self._wait_until(lambda: find() is not None, timeout)
        found = find()
        if found is None:
            raise TimeoutError(f"no matching chat request within {timeout}s")
        return found

    # -- HTTP -------------------------------------------------------------------------------

    def _record(self, request: web.Request, body: dict[str, Any], into: list[ChatRequest]) -> None:
        into.append(ChatRequest(request.path, body, dict(request.headers), time.monotonic()))
        self._notify()

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _error(
        self,
        status: int,
        message: str,
        code: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> web.Response:
        kind = type_ or payloads.default_error_type(status)
        body = self.dialect.error_body(payloads.error_body(message, kind, code, param))
        return web.json_response(body, status=status, headers=headers)

    def _unauthorized(self) -> web.Response:
        message = "Incorrect API key provided"
        return self._error(401, message, "invalid_api_key", "invalid_request_error")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._record(request, {}, self.requests)
            return self._error(400, "We could not parse the JSON body of your request.")
        self._record(request, body, self.requests)
        chat = self.requests[-1]  # not requests[-1] after the wait: others may arrive meanwhile
        if not self._authorized(request):
            return self._unauthorized()
        behaviour, waited = await self._wait_scripted(
            self._script.popleft() if self._script else None
        )
        if not waited:
            return drop_connection(request)
        return await self._answer(request, chat, behaviour)

    async def _wait_scripted(self, behaviour: Behaviour | None) -> tuple[Answerable | None, bool]:
        """Go through Hang and Block; False when the server stopped meanwhile."""
        while isinstance(behaviour, Hang | Block):
            if isinstance(behaviour, Hang):
                waited = await self._sleep(behaviour.seconds)
            else:
                waited = await self._wait_or_stop(behaviour.event.wait())
            if not waited:
                return None, False
            behaviour = behaviour.then
        return behaviour, True

    async def _answer(  # noqa: PLR0911 - one return per kind of behaviour
        self, request: web.Request, chat: ChatRequest, behaviour: Answerable | None
    ) -> web.StreamResponse:
        if isinstance(behaviour, Error):
            b = behaviour
            return self._error(b.status, b.message, b.code, b.type, b.headers)
        problem = self._check(chat)
        if problem is not None:
            return problem
        if isinstance(behaviour, ToolCalls):
            return await stream_tool_calls(self, request, chat, behaviour)
        if isinstance(behaviour, CutStream):
            if not chat.stream:
                return drop_connection(request)
            reply = Reply(behaviour.text, chunks=behaviour.chunks)
            return await self._stream(request, chat, reply, behaviour.after_chunks)
        if not isinstance(behaviour, Reply):
            behaviour = Reply(self._reply_fn(chat.messages))
        if chat.stream:
            return await self._stream(request, chat, behaviour)
        ids = self._ids(chat)
        use = self._usage(chat, behaviour.text) if behaviour.usage else None
        body = ids.completion(behaviour.text, behaviour.finish_reason, use)
        chat.finished_at = time.monotonic()
        return web.json_response(body, headers={"x-request-id": f"req_{ids.id}"})

    def _check(self, chat: ChatRequest) -> web.Response | None:  # noqa: PLR0911 - one per rule
        invalid = "invalid_request_error"
        if not chat.model:
            return self._error(400, "you must provide a model parameter", param="model")
        if not chat.messages:
            return self._error(400, "Missing required parameter: 'messages'.", param="messages")
        if self.known_models is not None and chat.model not in self.known_models:
            message = f"The model `{chat.model}` does not exist or you do not have access to it."
            return self._error(404, message, "model_not_found", invalid)
        if "stream_options" in chat.body and self.stream_options_mode == "reject":
            message = (
                "Unrecognized request argument supplied: stream_options "
                "('stream_options' is not supported)"
            )
            return self._error(400, message, "unsupported_parameter", param="stream_options")
        if chat.body.get("stream_options") is not None and not chat.stream:
            message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
            return self._error(400, message, param="stream_options")
        refused = self.dialect.refusal(chat)
        if refused is not None:
            return self._error(400, refused.message, "unsupported_parameter", param=refused.param)
        limit, used = self.max_context_tokens, payloads.prompt_tokens(chat.messages)
        if limit is not None and used > limit:
            message = (
                f"This model's maximum context length is {limit} tokens. However, your messages "
                f"resulted in {used} tokens. Please reduce the length of the messages."
            )
            return self._error(400, message, "context_length_exceeded", invalid, param="messages")
        return None

    def _ids(self, chat: ChatRequest) -> payloads.CompletionIds:
        self._serial += 1
        return payloads.CompletionIds(self._serial, chat.model)

    def _usage(self, chat: ChatRequest, text: str) -> dict[str, int]:
        prompt = payloads.prompt_tokens(chat.messages)
        self.last_usage = payloads.usage(prompt, payloads.estimate_tokens(text))
        return self.last_usage

    def _wants_usage(self, chat: ChatRequest) -> bool:
        options = chat.body.get("stream_options")
        requested = isinstance(options, dict) and bool(options.get("include_usage"))
        return self.dialect.wants_usage(requested and self.stream_options_mode == "honour")

    async def _stream(
        self, request: web.Request, chat: ChatRequest, reply: Reply, cut_after: int | None = None
    ) -> web.StreamResponse:
        ids, usage_key = self._ids(chat), self._wants_usage(chat)
        chunks = reply.chunks if reply.chunks is not None else self.default_chunks
        text = self.dialect.answer_text(chat.model, reply.text)
        pieces = payloads.split_text(text, chunks, self.words_per_chunk)
        ttft = self.default_ttft if reply.ttft is None else reply.ttft
        delay = self.default_chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "x-request-id": ids.id}
        response = web.StreamResponse(headers=headers)
        try:
            await response.prepare(request)
            if not await self._sleep(ttft):
                return drop_connection(request)
            role = {"role": "assistant", "content": "", "refusal": None}
            await response.write(ids.chunk(role, None, usage_key))
            for thought in self.dialect.reasoning_deltas(chat.model):
                await response.write(ids.chunk(thought, None, usage_key))
            for index, piece in enumerate(pieces):
                if cut_after is not None and index >= cut_after:
                    break
                if index and not await self._sleep(delay):
                    return drop_connection(request)
                if reply.odd_chunks:
                    for odd in payloads.odd_chunks(ids):
                        await response.write(odd)
                await response.write(ids.chunk({"content": piece}, None, usage_key))
                if chat.first_token_at is None:
                    chat.first_token_at = time.monotonic()
                if not await self._hold(reply, index + 1):
                    return drop_connection(request)
            if cut_after is not None:
                return drop_connection(request)
            await response.write(ids.chunk({}, reply.finish_reason, usage_key))
            if usage_key and reply.usage:
                await response.write(ids.usage_chunk(self._usage(chat, reply.text)))
            await response.write(payloads.DONE)
            chat.finished_at = time.monotonic()
        except ConnectionError:
            pass  # the client went away mid-stream; nothing left to send
        return response

    async def _hold(self, reply: Reply, written: int) -> bool:
        """After reply.hold_after content chunks, wait for reply.hold; False if stopped."""
        if reply.hold is None or written != reply.hold_after:
            return True
        return await self._wait_or_stop(reply.hold.wait())

    async def _models(self, request: web.Request) -> web.Response:
        self._record(request, {}, self.other_requests)
        if not self._authorized(request):
            return self._unauthorized()
        names = sorted(self.known_models) if self.known_models is not None else [DEFAULT_MODEL]
        return web.json_response({"object": "list", "data": [_model_object(n) for n in names]})

    async def _model(self, request: web.Request) -> web.Response:
        self._record(request, {}, self.other_requests)
        if not self._authorized(request):
            return self._unauthorized()
        name = request.match_info["model"]
        if self.known_models is not None and name not in self.known_models:
            message = f"The model `{name}` does not exist or you do not have access to it."
            return self._error(404, message, "model_not_found", "invalid_request_error")
        return web.json_response(_model_object(name))

    async def _unknown(self, request: web.Request) -> web.Response:
        self._record(request, {}, self.other_requests)
        message = f"Unknown request URL: {request.method} {request.path}."
        return self._error(404, message, "unknown_url", "invalid_request_error")


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "fake"}
