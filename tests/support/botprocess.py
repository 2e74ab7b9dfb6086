"""The bot as a real process (`python -m bot`), for tests that kill it or limit its resources."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.fakes.telegram import ApiCall, ApiError, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """`python -m bot` with the test's environment; its JSON log lines are kept as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        # Read stdout all along: a full pipe would stall the bot.
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls,
        env: dict[str, str],
        telegram: FakeTelegram,
        python: str = sys.executable,
        module: str = "bot",
    ) -> BotProcess:
        """Start the bot (with the interpreter `python`; `python -m module`, the benchmark's
        floor runs so too) and wait until it polls Telegram."""
        polls = len(telegram.calls_of("getUpdates"))
        running = await cls.spawn(env, python, module)
        await telegram.wait_for_call("getUpdates", timeout=30, since=_index_after(telegram, polls))
        return running

    @classmethod
    async def spawn(
        cls, env: dict[str, str], python: str = sys.executable, module: str = "bot"
    ) -> BotProcess:
        """Start the bot and return at once (webhook mode, or a bot expected to fail)."""
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            module,
            env={**os.environ, **env, "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process)

    def memory_kb(self, field: str = "VmHWM") -> int:
        """A memory figure of /proc/<pid>/status in KiB: VmHWM, the peak resident memory so
        far (memory taken and given back in between counts), or VmRSS, the resident now."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} line")

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace"))

    def events(self, name: str) -> list[dict[str, Any]]:
        """The log events called `name`, parsed."""
        found = []
        for line in self.lines:
            if line.startswith("{"):
                event = json.loads(line)
                if event.get("event") == name:
                    found.append(event)
        return found

    async def wait_for(self, name: str, count: int = 1, timeout: float = 30) -> None:
        """Wait until the event `name` was logged `count` times."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events(name)) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{name} was not logged"
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash or an OOM kill."""
        if self.process.returncode is None:
            self.process.kill()
        await self.wait()

    async def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait for the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def wait(self, timeout: float = 30) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return code


def _index_after(telegram: FakeTelegram, polls: int) -> int:
    """The index in telegram.calls just after the `polls`-th getUpdates call."""
    seen = 0
    for index, call in enumerate(telegram.calls):
        if call.method == "getUpdates":
            seen += 1
            if seen == polls:
                return index + 1
    return 0


class UnconfirmedUpdates:
    """Keeps Telegram from learning which updates the bot received, until `release()`.

    python-telegram-bot confirms updates by asking for the next ones with a higher offset; the
    fake then forgets them. Holding those requests means a bot killed meanwhile leaves its
    updates unconfirmed, and Telegram delivers them again to the next bot, as it really does.
    """

    def __init__(self, telegram: FakeTelegram) -> None:
        self._holding = True
        self._released = asyncio.Event()
        telegram.on_call("getUpdates", self._hook)

    async def _hook(self, call: ApiCall) -> None:
        if self._holding and int(call.params.get("offset") or 0) > 0:
            await self._released.wait()
            raise ApiError(502, "Bad Gateway")  # to a bot that is gone by now

    def release(self) -> None:
        """Let the next bot's requests through (call after the held bot is dead)."""
        self._holding = False
        self._released.set()
