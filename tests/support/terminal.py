"""The terminal chat as a user sees it: `python -m bot chat` in a pseudo-terminal (pexpect).

The process runs with the test's environment; what it prints is kept, without escape codes,
as `screen`. pexpect blocks, so each read runs in a thread: the fake servers of the test keep
answering in the test's event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pexpect

from bot.config import ENV_NAMES

ROOT = Path(__file__).resolve().parents[2]
# CSI sequences (colours, cursor moves, erasing), OSC sequences, and lone ESC + one character.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
COLUMNS, ROWS = 100, 40


def plain(raw: str) -> str:
    """Terminal output without escape codes and carriage returns."""
    return _ESCAPES.sub("", raw).replace("\r", "")


class Terminal:
    """One `python -m bot chat` process in a pseudo-terminal of ROWS x COLUMNS."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        clean = {k: v for k, v in os.environ.items() if k.upper() not in ENV_NAMES}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "bot", "chat", *args],
            cwd=str(ROOT),
            env={**clean, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **env},
            dimensions=(ROWS, COLUMNS),
            encoding="utf-8",
            codec_errors="replace",
        )
        self.raw = ""
        self._seen = 0  # how far wait_for has consumed `screen`

    @property
    def screen(self) -> str:
        """Everything shown so far, as plain text."""
        return plain(self.raw)

    async def wait_for(self, text: str, timeout: float = 30) -> str:
        """Wait until `text` is shown after what earlier waits consumed; return what led to it."""
        return await asyncio.to_thread(self._wait_for, text, timeout)

    def _wait_for(self, text: str, timeout: float) -> str:
        remaining = timeout
        while (found := self.screen.find(text, self._seen)) < 0:
            assert remaining > 0, (
                f"{text!r} not shown; the screen ends with:\n{self.screen[-1500:]}"
            )
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                remaining -= 0.2
            except pexpect.EOF:
                message = f"{text!r} not shown before exit:\n{self.screen[-1500:]}"
                raise AssertionError(message) from None
        shown = self.screen[self._seen : found + len(text)]
        self._seen = found + len(text)
        return shown

    async def prompt(self) -> None:
        """Wait for the prompt (the chat is ready for a line)."""
        await self.wait_for("you › ")

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self.child.send(line + "\r")

    def ctrl(self, key: str) -> None:
        self.child.sendcontrol(key)

    async def exit_code(self, timeout: float = 30) -> int:
        """Wait for the process to end (reading what it still prints); its exit code."""
        await asyncio.to_thread(self._drain, timeout)
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    def _drain(self, timeout: float) -> None:
        remaining = timeout
        while remaining > 0:
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                remaining -= 0.2
            except pexpect.EOF:
                self.child.close()
                return
        raise AssertionError(f"the chat did not exit:\n{self.screen[-1500:]}")

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def log_events(path: Path, event: str) -> list[dict[str, Any]]:
    """The chat's log lines (JSON, in its log file) with this event name."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e.get("event") == event]
