"""Each model's requests to its provider: one client per provider, chosen by the model's name.

A chat stores a model's catalogue name; the provider is asked for the model's id under it
(they differ when two providers serve the same id). The answer is reported under the name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.config.providers import Catalogue, CatalogueModel
from bot.engine.models.completion import ChatModel, Completion, OnDelta
from bot.engine.models.reasoning import Reasoning


class ProviderRouter:
    """A `ChatModel` that sends each request to the provider serving the model asked for. A
    name the catalogue does not know goes to the first provider as it is (as before there
    was a catalogue: a persona's or a summary's model)."""

    def __init__(
        self,
        catalogue: Catalogue,
        clients: Mapping[str, ChatModel],
        *,
        show_reasoning: bool = True,
    ) -> None:
        """`show_reasoning` (SHOW_REASONING): whether thinking reaches `on_delta` at all."""
        self._catalogue = catalogue
        self._show_reasoning = show_reasoning
        self._clients = dict(clients)
        self._first = catalogue.providers[0].name
        self._closed = False

    def pinned(self, provider: str) -> ChatModel:
        """A `ChatModel` that sends every request to `provider` (a fallback's own endpoint)."""
        return _Pinned(self, provider)

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None = None,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        found = self._catalogue.find(model)
        provider = found[0].name if found else self._first
        return await self.ask(
            provider, messages, model, max_tokens=max_tokens, temperature=temperature,
            on_delta=on_delta, tools=tools,
        )  # fmt: skip

    async def ask(
        self,
        provider: str,
        messages: Sequence[dict[str, str]],
        model: str,
        *,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        """Ask `provider` for the model called `model` (its id there, if it serves it)."""
        entry = next((m for m in self._provider_models(provider) if m.name == model), None)
        completion = await self._clients[provider].complete(
            messages,
            model=entry.id if entry else model,
            max_tokens=max_tokens,
            temperature=temperature,
            on_delta=on_delta if self._show_reasoning else _answer_only(on_delta),
            tools=tools,
        )
        return replace(completion, model=model)

    def _provider_models(self, provider: str) -> Sequence[CatalogueModel]:
        return next(p.models for p in self._catalogue.providers if p.name == provider)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for client in self._clients.values():
            await client.close()


def _answer_only(on_delta: OnDelta | None) -> OnDelta | None:
    """`on_delta` without the thinking (SHOW_REASONING=false)."""
    if on_delta is None:
        return None
    passed = on_delta

    async def answer_only(piece: str) -> None:
        if not isinstance(piece, Reasoning):
            await passed(piece)

    return answer_only


class _Pinned:
    """The router, asking one provider whatever the model."""

    def __init__(self, router: ProviderRouter, provider: str) -> None:
        self._router = router
        self._provider = provider

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        on_delta: OnDelta | None = None,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        return await self._router.ask(
            self._provider, messages, model, max_tokens=max_tokens, temperature=temperature,
            on_delta=on_delta, tools=tools,
        )  # fmt: skip

    async def close(self) -> None:
        await self._router.close()
