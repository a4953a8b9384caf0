"""What the store-outage and failover stories share: an external Valkey (deploy/valkey/) and
Tocsin processes pointed at it, and HTTP calls that report what a sender or a probe saw
rather than raising."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.conftest import eventually
from tests.e2e.processes import kill_group, start_tocsin
from tests.valkey_processes import Store

SECRET_KEY = "e2e-secret-key-shared-by-web-and-worker"
GENERIC_WEBHOOK = "/v1/webhooks/generic/steady-token"
PAGING_CONFIG = """
integrations: [{{name: steady, type: generic, token: steady-token}}]
people: {{oncall: {{name: On Call, webhook: "{sink}/oncall"}}}}
escalation_policies:
  steady: {{levels: [{{targets: ["person:oncall"], ack_timeout: 1h}}]}}
routes: [{{match: {{}}, policy: steady}}]
"""
"""Every alert its own incident, paged once to one person by webhook; nobody escalates."""
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=10)
"""Longer than any answer Tocsin should take, so a slow answer is measured, not cut."""


@dataclass(frozen=True)
class Answer:
    status: int | None
    """``None``: no HTTP answer at all (refused, reset, timed out)."""
    seconds: float
    headers: dict[str, str]
    body: str


async def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession(timeout=CLIENT_TIMEOUT, headers=headers) as http,
            http.request(method, url, json=body) as response,
        ):
            text = await response.text()
            return Answer(response.status, time.monotonic() - started, dict(response.headers), text)
    except (aiohttp.ClientError, TimeoutError):
        return Answer(None, time.monotonic() - started, {}, "")


async def status(url: str) -> int | None:
    return (await request("GET", url)).status


async def serving(url: str) -> bool:
    return await status(url + "/healthz") == 200


async def ready(url: str) -> bool:
    return await status(url + "/readyz") == 200


def write_paging_config(directory: Path, sink_url: str) -> Path:
    path = directory / "tocsin.yaml"
    path.write_text(PAGING_CONFIG.format(sink=sink_url))
    return path


def generic_alert(title: str) -> dict[str, str]:
    """A new alert for the generic webhook: its incident and page carry ``title``."""
    return {"summary": title, "severity": "critical", "dedup_key": title}


@contextmanager
def tocsin_roles(
    commands: list[list[str]], *, cwd: Path, env: dict[str, str]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start each command as ``tocsin COMMAND...`` with ``env``; kill them all at the end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            started.append(start_tocsin(command, cwd=cwd, env=env))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                kill_group(process)


async def watched_by_sentinels(store: Store) -> None:
    """Start the primary and the replica, then the Sentinels once the replica is attached,
    so their first look at the primary finds it (they look again only every ten seconds)."""
    store.start_servers()
    await eventually(store.replicating, what="the replica to attach")
    store.start_sentinels()
    await eventually(store.quorum, within=30, what="the Sentinels to agree on a quorum")
