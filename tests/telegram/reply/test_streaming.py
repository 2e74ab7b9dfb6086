"""Which Bot API call a streamed reply makes next, and draft ids."""

from __future__ import annotations

import pytest

from bot.config import ENV_NAMES, ConfigError, load_settings
from bot.telegram.format.render import RenderedPart
from bot.telegram.reply.stream_steps import Mode, next_step, part_key
from bot.telegram.reply.streaming import StreamState

A, B, C = RenderedPart("part a"), RenderedPart("part b"), RenderedPart("part c")
A2 = RenderedPart("part a, longer")


class TestNextStepWithDrafts:
    def test_first_text_is_a_draft(self) -> None:
        """The first visible text goes out as a draft."""
        step = next_step(Mode.DRAFT, [A], [], None)
        assert step is not None and (step.kind, step.index, step.part) == ("draft", 0, A)

    def test_unchanged_draft_is_not_resent(self) -> None:
        """Nothing is sent when the draft already shows the text."""
        assert next_step(Mode.DRAFT, [A], [], part_key(A)) is None

    def test_complete_part_becomes_a_message(self) -> None:
        """Once a second part exists, the first is sent as a message."""
        step = next_step(Mode.DRAFT, [A, B], [], part_key(A))
        assert step is not None and (step.kind, step.index) == ("send", 0)

    def test_then_the_draft_continues_with_the_next_part(self) -> None:
        """After the first part is a message, the draft shows the second."""
        step = next_step(Mode.DRAFT, [A, B], [part_key(A)], part_key(A))
        assert step is not None and (step.kind, step.index, step.part) == ("draft", 1, B)

    def test_nothing_visible(self) -> None:
        """No part (nothing visible yet): no call."""
        assert next_step(Mode.DRAFT, [], [], None) is None


class TestNextStepWithEdits:
    def test_first_text_is_a_message(self) -> None:
        """The first visible text is sent as a message."""
        step = next_step(Mode.EDIT, [A], [], None)
        assert step is not None and (step.kind, step.index) == ("send", 0)

    def test_growing_part_is_edited(self) -> None:
        """A part that grew is an edit of its message."""
        step = next_step(Mode.EDIT, [A2], [part_key(A)], None)
        assert step is not None and (step.kind, step.index, step.part) == ("edit", 0, A2)

    def test_unchanged_is_not_edited(self) -> None:
        """No edit when the message already shows the text ("not modified" never happens)."""
        assert next_step(Mode.EDIT, [A], [part_key(A)], None) is None

    def test_last_message_completed_before_next_part(self) -> None:
        """A full first part is edited to its final form before the second part is sent."""
        step = next_step(Mode.EDIT, [A2, B], [part_key(A)], None)
        assert step is not None and (step.kind, step.index) == ("edit", 0)
        step = next_step(Mode.EDIT, [A2, B], [part_key(A2)], None)
        assert step is not None and (step.kind, step.index, step.part) == ("send", 1, B)

    def test_fewer_parts_than_messages_waits_for_final(self) -> None:
        """If the text renders to fewer parts than were sent, the final delivery sorts it out."""
        assert next_step(Mode.EDIT, [A], [part_key(A), part_key(B), part_key(C)], None) is None


class TestPartKey:
    def test_entities_compare_by_every_field(self) -> None:
        """Two links over the same words with different URLs are different texts."""
        from telegram import MessageEntity

        one = RenderedPart("x", (MessageEntity("text_link", 0, 1, url="https://a.example"),))
        two = RenderedPart("x", (MessageEntity("text_link", 0, 1, url="https://b.example"),))
        assert part_key(one) != part_key(two)


class TestDraftIds:
    def test_non_zero_and_unique(self) -> None:
        """Every reply gets a non-zero draft id no other reply of this process had."""
        state = StreamState()
        ids = [state.new_draft_id() for _ in range(1000)]
        assert 0 not in ids
        assert len(set(ids)) == len(ids)
        assert all(0 < i < 2**31 for i in ids)


class TestStreamingSettings:
    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Streaming is on by default, with one update per second per chat."""
        clean(monkeypatch)
        settings = load_settings(require_telegram=False, env_file=None).telegram
        assert settings.streaming is True
        assert settings.stream_edit_interval == 1.0

    @pytest.mark.parametrize("value", ["false", "off", "0", "no"])
    def test_streaming_off(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        """STREAMING accepts the usual spellings of off."""
        clean(monkeypatch)
        monkeypatch.setenv("STREAMING", value)
        assert load_settings(require_telegram=False, env_file=None).telegram.streaming is False

    @pytest.mark.parametrize("value", ["0", "-1", "0.05", "61", "often"])
    def test_bad_interval_is_explained(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        """STREAM_EDIT_INTERVAL outside 0.1-60 seconds is a configuration error naming it."""
        clean(monkeypatch)
        monkeypatch.setenv("STREAM_EDIT_INTERVAL", value)
        with pytest.raises(ConfigError) as caught:
            load_settings(require_telegram=False, env_file=None)
        assert any("STREAM_EDIT_INTERVAL" in problem for problem in caught.value.problems)


def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
