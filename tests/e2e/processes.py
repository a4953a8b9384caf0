"""Starting the real ``tocsin`` command as a separate process, as an operator would."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.e2e.conftest import free_port, probe

TRACEBACK = "Traceback (most recent call last)"


def start_tocsin(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] = {},
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """In its own process group, so a test can kill it and everything it started at once.
    Output goes to ``log`` (default: ``tocsin-ROLE.log`` in ``cwd``), appended across runs."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    environment.update(env)
    with (log or cwd / f"tocsin-{args[0]}.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tocsin", *args],
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def token_from_the_cli(cwd: Path, *args: str, env: Mapping[str, str] = {}) -> dict[str, str]:
    """Headers for ``/api/v1`` with a read token made as an operator makes one:
    ``tocsin token create``, told where the store is by ``args`` (``--data-dir``) or
    ``env`` (``TOCSIN_REDIS_URL``)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    environment.update(env)
    command = ["token", "create", "e2e", "--scope", "read", *args]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tocsin",
        *command,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return {"Authorization": f"Bearer {out.decode().strip()}"}


def kill_group(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=10)


async def responds(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether ``GET url`` answers 200 now: a process still starting refuses connections."""
    try:
        async with http.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


@dataclass
class RoleProcess:
    """One ``tocsin web|router|worker`` process that a test stops and starts again, as a
    supervisor would: on the same port, with the same settings, logging to one file."""

    role: str
    config: Path
    cwd: Path
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"{self.role}-{self.port}"

    @property
    def log(self) -> Path:
        return self.cwd / f"tocsin-{self.name}.log"

    def start(self) -> None:
        args = [self.role, "--config", str(self.config), "--port", str(self.port)]
        self.process = start_tocsin(args, cwd=self.cwd, env=self.env, log=self.log)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            kill_group(self.process)

    async def ready(self) -> bool:
        return await probe(self.url) == 200

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count(TRACEBACK) if self.log.exists() else 0


@contextlib.contextmanager
def started(
    roles: Sequence[str], config: Path, cwd: Path, env: Mapping[str, str]
) -> Iterator[list[RoleProcess]]:
    """A process for each role listed, each on a port of its own; all killed at the end."""
    processes = [RoleProcess(role, config, cwd, env) for role in roles]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.kill()


async def all_ready(processes: Sequence[RoleProcess]) -> bool:
    return all([await process.ready() for process in processes])
