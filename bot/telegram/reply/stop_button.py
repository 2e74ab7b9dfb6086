"""The Stop button under an answer being written, and the native stop of private drafts.

An answer streamed by edits (groups, and private chats that refuse drafts) carries an inline
Stop button (callback data ``stop:<turn id>``) until its final text replaces it. A private
chat's draft is sent with ``can_stop`` (Bot API 10.3), so Telegram shows its own stop control;
pressing it sends a ``stopped_message_generation`` update (handlers/stopping.py).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

STOP_BUTTON_PREFIX = "stop:"
DRAFT_STOP = {"can_stop": True}  # sendMessageDraft's parameter (python-telegram-bot lacks it)


def stop_markup(turn_id: int) -> InlineKeyboardMarkup:
    """One button, "⏹ Stop", that stops the answer to turn `turn_id`."""
    button = InlineKeyboardButton("⏹ Stop", callback_data=f"{STOP_BUTTON_PREFIX}{turn_id}")
    return InlineKeyboardMarkup([[button]])
