"""The terminal channel: `python -m bot chat`, the same engine as Telegram."""
