"""The real process: SIGTERM lets an answer in progress finish, then exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.openai import Reply
from tests.support.chats import PRIVATE, answer_in
from tests.support.running import RunningBot

ROOT = Path(__file__).resolve().parents[1]


async def start_process(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


class TestGracefulShutdown:
    async def test_sigterm_finishes_the_answer_in_flight(
        self, bot: RunningBot, bot_env: dict[str, str]
    ) -> None:
        """SIGTERM mid-answer: polling stops, the answer is still delivered, exit code 0."""
        await bot.stop()
        process = await start_process(bot_env)
        try:
            await bot.telegram.wait_for_call("getUpdates", timeout=15)
            bot.model.script(Reply("finished anyway", ttft=1.0))
            bot.telegram.send_private_text(PRIVATE, "long question")
            await bot.model.wait_for_requests(1, timeout=10)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert await answer_in(bot, PRIVATE) == "finished anyway"
        assert code == 0
        assert process.stdout is not None
        out = (await process.stdout.read()).decode()
        assert '"bot_stopped"' in out
