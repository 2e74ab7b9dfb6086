"""deploy/: the Dockerfile, the Compose file and the systemd unit, checked by the tools at hand.

No Docker engine runs here, so the image is never built: hadolint lints the Dockerfile, the
Compose file is validated against the compose-spec JSON schema (vendored by check-jsonschema),
the systemd unit goes through `systemd-analyze verify` and `security`, and focused tests check
what the issue asks of each file. Each tool is also shown a broken file, so a check that
silently passes everything would be noticed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from bot.storage.sqlite import Database
from tests.support.running import RunningBot
from tests.support.service import unused_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
UNIT = DEPLOY / "telegram-llm-bot.service"


def run(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False, **kwargs
    )


def final_stage(path: Path = DEPLOY / "Dockerfile") -> list[dict[str, Any]]:
    """The instructions of the Dockerfile's last stage."""
    structure = DockerfileParser(str(path)).structure
    last_from = max(i for i, ins in enumerate(structure) if ins["instruction"] == "FROM")
    return structure[last_from:]


def instruction(stage: list[dict[str, Any]], name: str) -> str:
    [found] = [ins["value"] for ins in stage if ins["instruction"] == name]
    return str(found)


class TestDockerfile:
    def test_hadolint_is_clean(self) -> None:
        """hadolint (with ShellCheck for RUN lines) reports nothing, not even info."""
        result = run(BIN / "hadolint", "--failure-threshold", "info", DEPLOY / "Dockerfile")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_hadolint_catches_a_bad_dockerfile(self, tmp_path: Path) -> None:
        """The linter has teeth: an untagged image and `apt-get` without pins fail."""
        bad = tmp_path / "Dockerfile"
        bad.write_text("FROM python\nRUN apt-get update && apt-get install curl\n")
        assert run(BIN / "hadolint", bad).returncode != 0

    def test_slim_non_root_with_the_database_on_a_volume(self) -> None:
        """A slim base, a numeric non-root user, DATABASE_URL inside the /data volume."""
        stage = final_stage()
        assert instruction(stage, "FROM").endswith("-slim")
        user = instruction(stage, "USER")
        assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), user
        assert json.loads(instruction(stage, "VOLUME")) == ["/data"]
        assert "DATABASE_URL=sqlite:////data/bot.db" in instruction(stage, "ENV")
        assert json.loads(instruction(stage, "ENTRYPOINT")) == ["python", "-m", "bot"]
        assert json.loads(instruction(stage, "CMD")) == ["run"]

    def test_the_image_installs_the_tools_and_terminal_extras_unless_told_not_to(self) -> None:
        """MCP tools and the terminal chat work in the image as built by default, the extras
        the install line names exist in pyproject.toml; EXTRAS empty installs the package."""
        structure = DockerfileParser(str(DEPLOY / "Dockerfile")).structure
        [arg] = [ins["value"] for ins in structure if ins["instruction"] == "ARG"]
        assert arg == "EXTRAS=tools,terminal"
        [install] = [ins["value"] for ins in structure if "pip install" in ins["value"]]
        spec = install.split("pip install --no-cache-dir ", 1)[1].strip('"')
        expand = ["bash", "-c", f'EXTRAS="$1"; echo "{spec}"', "-"]
        assert run(*expand, "tools,terminal").stdout.strip() == ".[tools,terminal]"
        assert run(*expand, "").stdout.strip() == "."
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        assert {"tools", "terminal"} <= set(extras["optional-dependencies"])

    def test_only_the_package_is_copied_and_nothing_else_is_in_the_context(self) -> None:
        """COPY takes pyproject.toml, README.md and bot/; .dockerignore lets only those in."""
        structure = DockerfileParser(str(DEPLOY / "Dockerfile")).structure
        sources = {
            src
            for ins in structure
            if ins["instruction"] == "COPY" and not ins["value"].startswith("--from")
            for src in ins["value"].split()[:-1]
        }
        assert sources == {"pyproject.toml", "README.md", "bot"}
        allowed = (ROOT / ".dockerignore").read_text().splitlines()
        assert allowed[allowed.index("*") + 1 :][:3] == ["!pyproject.toml", "!README.md", "!bot/"]


def healthcheck_command() -> list[str]:
    value = instruction(final_stage(), "HEALTHCHECK")
    command = json.loads(value[value.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [str(part) for part in command]


class TestHealthcheck:
    async def test_uses_healthz_without_curl(self) -> None:
        """HEALTHCHECK asks /healthz with python's standard library (slim images have no curl)."""
        command = healthcheck_command()
        assert command[:2] == ["python", "-c"] and "/healthz" in command[2]

    async def test_passes_when_healthy_and_fails_when_not(
        self, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The image's own health command, run against the bot: exit 0, then non-zero on 503."""
        port = unused_port()
        await bot.restart(HEALTH_PORT=str(port))
        command = [sys.executable, *healthcheck_command()[1:]]
        env = {**os.environ, "HEALTH_PORT": str(port)}

        async def exit_code() -> int:
            process = await asyncio.create_subprocess_exec(
                *command, env=env, stderr=asyncio.subprocess.DEVNULL
            )
            return await asyncio.wait_for(process.wait(), 30)

        assert await exit_code() == 0

        async def broken(_self: Database) -> None:
            raise OSError("disk gone")

        monkeypatch.setattr(Database, "ping", broken)
        assert await exit_code() != 0


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


class TestCompose:
    def test_valid_against_the_compose_spec_schema(self) -> None:
        """check-jsonschema validates the file against the vendored compose-spec schema."""
        result = run(
            BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec",
            DEPLOY / "docker-compose.yml",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_schema_catches_a_broken_file(self, tmp_path: Path) -> None:
        """The schema check has teeth: a misspelt service key fails."""
        bad = tmp_path / "compose.yml"
        bad.write_text("services:\n  bot:\n    image: x\n    envfile: .env\n")
        result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", bad)
        assert result.returncode != 0

    def test_bot_service(self) -> None:
        """env_file, the database on a named volume, a restart policy, a stop grace period."""
        data = compose()
        bot = data["services"]["bot"]
        assert bot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).is_file()
        assert bot["env_file"] == "../.env"
        assert "bot-data:/data" in bot["volumes"] and "bot-data" in data["volumes"]
        assert bot["environment"]["DATABASE_URL"] == "sqlite:////data/bot.db"
        assert bot["restart"] == "unless-stopped"
        assert int(bot["stop_grace_period"].removesuffix("s")) > 10  # SHUTDOWN_GRACE_SECONDS
        assert bot["read_only"] is True and bot["cap_drop"] == ["ALL"]
        assert "ports" not in bot  # nothing of the bot is published on the host

    def test_memory_and_process_limits(self) -> None:
        """The bot's container has a memory ceiling and a bounded number of processes/threads."""
        bot = compose()["services"]["bot"]
        assert bot["mem_limit"] == "1g"
        assert 64 <= bot["pids_limit"] <= 1024

    def test_optional_webhook_proxy(self) -> None:
        """Caddy runs only in the `webhook` profile and forwards /telegram to the webhook port."""
        data = compose()
        caddy = data["services"]["caddy"]
        assert caddy["profiles"] == ["webhook"]
        assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
        port = data["services"]["bot"]["environment"]["WEBHOOK_PORT"]
        assert data["services"]["bot"]["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0"
        caddyfile = (DEPLOY / "Caddyfile").read_text()
        assert "handle /telegram {" in caddyfile
        assert f"reverse_proxy bot:{port}" in caddyfile

    def test_proxy_refuses_bodies_over_1_mb(self) -> None:
        """Caddy's request_body limit for the webhook route is the bot's own: 1 MB."""
        caddyfile = (DEPLOY / "Caddyfile").read_text()
        route = caddyfile[caddyfile.index("handle /telegram {") :].split("reverse_proxy")[0]
        assert re.search(r"request_body \{\s*max_size 1MB\s*\}", route), route


def unit_with_python(tmp_path: Path, text: str | None = None) -> Path:
    """The unit, with ExecStart's interpreter pointed at one that exists on this machine."""
    text = (text or UNIT.read_text()).replace(
        "/opt/telegram-llm-bot/venv/bin/python", str(Path(sys.executable).resolve())
    )
    path = tmp_path / UNIT.name
    path.write_text(text)
    return path


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


class TestSystemdUnit:
    def test_runs_the_bot_with_its_state_directory(self) -> None:
        """Dedicated user, state directory for the database, restart on failure, strict FS."""
        text = UNIT.read_text()
        for line in [
            "User=telegram-llm-bot",
            "StateDirectory=telegram-llm-bot",
            "Environment=DATABASE_URL=sqlite:////var/lib/telegram-llm-bot/bot.db",
            "ExecStart=/opt/telegram-llm-bot/venv/bin/python -m bot run",
            "Restart=on-failure",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "UMask=0077",  # the database, its WAL and the logs are the bot user's only
            "MemoryMax=1G",
            "TasksMax=256",
        ]:
            assert f"\n{line}\n" in text, line

    @needs_systemd
    def test_systemd_analyze_verify_is_clean(self, tmp_path: Path) -> None:
        """`systemd-analyze verify` accepts the unit without a single warning."""
        result = run("systemd-analyze", "verify", unit_with_python(tmp_path))
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr

    @needs_systemd
    def test_verify_catches_a_broken_unit(self, tmp_path: Path) -> None:
        """verify has teeth: a misspelt key is reported."""
        broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict")
        result = run("systemd-analyze", "verify", unit_with_python(tmp_path, broken))
        assert "Unknown key" in result.stderr

    @needs_systemd
    def test_exposure_is_low(self, tmp_path: Path) -> None:
        """`systemd-analyze security` rates the unit's exposure at most 2.0 ("OK")."""
        result = run(
            "systemd-analyze", "security", "--offline=yes", "--threshold=20",
            unit_with_python(tmp_path),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:]
        level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        assert level is not None and float(level[1]) <= 2.0
