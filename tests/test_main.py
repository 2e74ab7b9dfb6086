"""`python -m bot`: each command imports what it runs and nothing an operator did not install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.fakes.telegram import FakeTelegram
from tests.support.botprocess import BotProcess
from tests.support.cli import ROOT

# Only for commands or settings most deployments never use: the terminal chat (its extra),
# documents (pypdf, charset_normalizer), MCP tools, PostgreSQL and Redis; and the HTTP servers
# (aiohttp.web) of the webhook and of /healthz, which the tests' bot (polling, HEALTH_PORT=0)
# does not run. tornado is not a dependency any more (python-telegram-bot without [webhooks]).
NOT_AT_START = (
    *("rich", "prompt_toolkit", "pypdf", "charset_normalizer", "mcp", "asyncpg", "redis"),
    *("tornado", "aiohttp.web"),
)

# Loaded with the first question instead of at start: the model SDK (~0.3 s, ~18 MB), the rate
# limiter's library and the Markdown converter (~2 MB each).
FIRST_QUESTION = ("openai", "limits", "telegramify_markdown")

# `python -m bot chat` with the terminal extra's modules made unimportable, as if not installed.
WITHOUT_TERMINAL = """
import runpy, sys
sys.modules["rich"] = sys.modules["prompt_toolkit"] = None
sys.argv = ["bot", "chat"]
runpy.run_module("bot", run_name="__main__")
"""


class TestTerminalExtra:
    def test_chat_without_the_extra_names_the_fix(self, tmp_path: Path) -> None:
        """Without rich and prompt-toolkit, `chat` prints one line naming the extra and
        `make chat`, exits 1, no traceback."""
        result = subprocess.run(
            [sys.executable, "-c", WITHOUT_TERMINAL],
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            "The terminal chat needs the `terminal` extra: pip install -e '.[terminal]' "
            "(or make chat)."
        ]
        assert result.stdout == ""


class TestLazyImports:
    async def test_polling_bot_imports_none_of_the_optional_libraries(
        self, tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI, bot_env: dict[str, str]
    ) -> None:
        """From spawning `python -m bot` to polling and a clean stop, none of the terminal's,
        the documents', MCP's, PostgreSQL's or Redis's libraries is imported, nor an HTTP
        server's (polling, HEALTH_PORT=0)."""
        listing = tmp_path / "modules.txt"
        env = {**bot_env, "IMPORTED_MODULES_FILE": str(listing), "HEALTH_PORT": "0"}
        process = await BotProcess.start(env, telegram, module="tests.support.imported")
        assert await process.terminate(timeout=15) == 0
        names = set(listing.read_text().splitlines())
        imported = names | {name.partition(".")[0] for name in names}
        assert "bot" in imported
        assert imported.isdisjoint(NOT_AT_START), sorted(imported & set(NOT_AT_START))

    async def test_what_answers_need_waits_for_the_first_question(
        self, tmp_path: Path, telegram: FakeTelegram, model: FakeOpenAI, bot_env: dict[str, str]
    ) -> None:
        """The openai SDK, the rate limiter and the Markdown converter are not imported while
        the bot only polls, with the media feature (its audio client) and both rate limits on
        as by default."""
        listing = tmp_path / "modules.txt"
        env = {
            **bot_env,
            "IMPORTED_MODULES_FILE": str(listing),
            "MEDIA_ENABLED": "true",
            "RATE_LIMIT_MESSAGES": "5",
            "RATE_LIMIT_COMMANDS": "5",
        }
        process = await BotProcess.start(env, telegram, module="tests.support.imported")
        assert await process.terminate(timeout=15) == 0
        imported = {name.partition(".")[0] for name in listing.read_text().splitlines()}
        assert "telegram" in imported
        assert imported.isdisjoint(FIRST_QUESTION), sorted(imported & set(FIRST_QUESTION))
