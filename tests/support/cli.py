"""`python -m bot` as a user runs it: a subprocess with only the given settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import ENV_NAMES

ROOT = Path(__file__).resolve().parents[2]


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k.upper() not in ENV_NAMES}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
