"""Starting the real ``tocsin`` command as a separate process, as an operator would."""

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp


def start_tocsin(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str] = {}
) -> subprocess.Popen[bytes]:
    """In its own process group, so a test can kill it and everything it started at once."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    environment.update(env)
    with (cwd / f"tocsin-{args[0]}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tocsin", *args],
            cwd=cwd,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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
