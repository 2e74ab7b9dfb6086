"""`python -m bot check` as an operator runs it: a subprocess against the fake servers."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.check import check_model
from bot.check import main as check_main
from bot.startup import load_checked_settings
from tests.fakes.openai import FakeOpenAI, unused_port
from tests.fakes.telegram import FakeTelegram
from tests.support.mcp import servers_file, stdio_entry
from tests.support.running import API_KEY, TOKEN

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


async def check(tmp_path: Path, **env: str | None) -> Outcome:
    """Run `python -m bot check` with the test environment changed by `env` (None: unset)."""
    merged = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, value in env.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        env=merged,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    result = Outcome(process.returncode, out.decode(), err.decode())
    for secret in (TOKEN, TOKEN.partition(":")[2], API_KEY):
        assert secret not in result.out + result.err
    return result


def line(out: str, name: str) -> str:
    """The report line of one check: `  ok|FAIL  name  detail`."""
    return next(text for text in out.splitlines() if text.split()[1:2] == [name])


class TestCheck:
    async def test_all_good(
        self,
        bot_env: dict[str, str],
        tmp_path: Path,
        telegram: FakeTelegram,
        model: FakeOpenAI,
    ) -> None:
        """A working setup: three passing checks, getMe and a one-token request, exit 0."""
        result = await check(tmp_path)
        assert result.code == 0, result.out + result.err
        assert "ok    telegram" in result.out and "@test_llm_bot" in result.out
        assert "ok    model" in result.out and "gpt-test answered" in result.out
        assert "All checks passed." in result.out
        assert telegram.calls_of("getMe")
        [request] = model.requests
        assert request.body["max_tokens"] == 1 and request.body["model"] == "gpt-test"
        assert not telegram.calls_of("sendMessage")

    async def test_wrong_token_and_key(
        self, bot_env: dict[str, str], tmp_path: Path, model: FakeOpenAI
    ) -> None:
        """A token Telegram rejects and a key the provider rejects: each said clearly, exit 1."""
        result = await check(
            tmp_path,
            TELEGRAM_BOT_TOKEN="123456:AAE-not-the-right-token",
            OPENAI_API_KEY="sk-wrong-key-000",
        )
        assert result.code == 1
        assert "rejected TELEGRAM_BOT_TOKEN" in line(result.out, "telegram")
        assert "fix: copy the token again from @BotFather" in result.out
        assert "rejected OPENAI_API_KEY" in line(result.out, "model")
        assert "fix: set OPENAI_API_KEY to a valid key" in result.out
        assert "2 of 3 checks failed." in result.out

    async def test_unknown_model(
        self, bot_env: dict[str, str], tmp_path: Path, model: FakeOpenAI
    ) -> None:
        """A model the provider does not have: named, with the ones it does offer."""
        model.known_models = {"gpt-test", "gpt-other"}
        result = await check(tmp_path, OPENAI_MODEL="gpt-typo", OPENAI_MODELS=None)
        assert result.code == 1
        assert "does not know the model 'gpt-typo'" in line(result.out, "model")
        assert "fix: set OPENAI_MODEL to a model it offers: gpt-other, gpt-test" in result.out


class TestDiagnoses:
    """The same checks in-process (the subprocess round trip is shown above): the base URL."""

    @pytest.mark.parametrize(
        ("base", "expected", "fix"),
        [
            (
                "{origin}",
                "is not an OpenAI-compatible API",
                "OpenAI-compatible URLs usually end in /v1",
            ),
            ("http://127.0.0.1:{closed}/v1", "could not reach", "check OPENAI_BASE_URL"),
        ],
    )
    async def test_wrong_base_url(
        self,
        bot_env: dict[str, str],
        model: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch,
        base: str,
        expected: str,
        fix: str,
    ) -> None:
        """A base URL without /v1, or with nothing listening: said so, with what to change."""
        url = base.format(origin=model.origin, closed=unused_port())
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        result = await check_model(load_checked_settings(env_file=None).model)
        assert not result.ok
        assert expected in result.detail
        assert result.fix.startswith(fix)

    def test_invalid_configuration(
        self, bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Configuration problems are listed, each a failure; nothing is contacted; exit 1."""
        monkeypatch.chdir(tmp_path)  # no .env of the developer's
        monkeypatch.setenv("TEMPERATURE", "9")
        monkeypatch.setenv("MAX_OUTPUT_TOKENS", "0")
        out = io.StringIO()
        assert check_main(out) == 1
        assert "FAIL  configuration  TEMPERATURE" in out.getvalue()
        assert "FAIL  configuration  MAX_OUTPUT_TOKENS" in out.getvalue()
        assert "Telegram and the model were not checked." in out.getvalue()


class TestTools:
    async def test_servers_started_and_counted(
        self, bot_env: dict[str, str], tmp_path: Path, model: FakeOpenAI
    ) -> None:
        """With MCP_SERVERS_FILE, each server is started: its tools counted, a broken one
        named with what to fix."""
        path = servers_file(
            tmp_path / "mcp.json",
            {"test": stdio_entry(), "broken": {"command": str(tmp_path / "nothing-here")}},
        )
        result = await check(tmp_path, MCP_SERVERS_FILE=str(path))
        assert result.code == 1
        assert "test: 7 tools; broken: not available" in line(result.out, "tools")
        assert "fix: check the command or URL of broken in MCP_SERVERS_FILE" in result.out
