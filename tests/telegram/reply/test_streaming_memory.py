"""What streaming remembers across replies is bounded: private chats that refused drafts."""

from __future__ import annotations

from bot.telegram.reply.streaming import DRAFTS_REFUSED_KEPT, StreamState


class TestDraftsRefused:
    def test_at_most_drafts_refused_kept(self) -> None:
        """Beyond DRAFTS_REFUSED_KEPT chats the least recently refused is forgotten (it costs
        one refused draft call to find out again)."""
        state = StreamState()
        for chat_id in range(DRAFTS_REFUSED_KEPT + 10):
            state.drafts_refused[chat_id] = True
        assert len(state.drafts_refused) == DRAFTS_REFUSED_KEPT
        assert 0 not in state.drafts_refused
        assert DRAFTS_REFUSED_KEPT + 9 in state.drafts_refused
