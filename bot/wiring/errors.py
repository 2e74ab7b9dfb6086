"""The one error of start-up: what could not be opened, in plain words."""

from __future__ import annotations


class StartupError(Exception):
    """The bot could not start; the message says why in plain words."""
