"""telegram-llm-bot: chat with any OpenAI-compatible model from Telegram."""

import os

# Opt in to python-telegram-bot's next-major behaviour (durations as timedelta) now: the old
# int form emits a deprecation warning on every flood-control error.
os.environ.setdefault("PTB_TIMEDELTA", "1")
