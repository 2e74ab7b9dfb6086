"""The openai SDK, imported on first use.

Importing it costs ~0.3 s and ~18 MB (it imports every API type it has), and nothing before
the first question needs it. So the clients build their SDK client on their first request
(`LazySdk`), and the code that catches the SDK's errors names them through `sdk_errors()`
(evaluated only when an exception reaches it): the bot polls without the SDK loaded, and the
first answer pays the import once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai


def sdk_errors() -> tuple[type[BaseException], ...]:
    """What an SDK call raises: its own errors and its HTTP layer's."""
    import httpx2  # noqa: PLC0415 - the SDK's HTTP layer, loaded with it
    import openai  # noqa: PLC0415

    return (openai.OpenAIError, httpx2.HTTPError)


def bad_request_error() -> type[openai.BadRequestError]:
    """The SDK's 400 (a provider refusing a parameter, or a prompt too long)."""
    import openai  # noqa: PLC0415

    return openai.BadRequestError


class LazySdk:
    """An `openai.AsyncOpenAI` made on first use from these options (`http_client`, when
    given, is called then for the SDK's HTTP client)."""

    __slots__ = ("_client", "_http_client", "_options")

    def __init__(self, http_client: Any = None, **options: Any) -> None:
        self._options = options
        self._http_client = http_client
        self._client: openai.AsyncOpenAI | None = None

    def __call__(self) -> openai.AsyncOpenAI:
        if self._client is None:
            import openai  # noqa: PLC0415 - see the module's docstring

            http = self._http_client() if self._http_client is not None else None
            self._client = openai.AsyncOpenAI(**self._options, http_client=http)
        return self._client

    async def close(self) -> None:
        """Close the SDK client if one was made."""
        if self._client is not None:
            await self._client.close()
