"""Prometheus Alertmanager as the peer: how many alerts per second one Alertmanager process,
pinned to one core, accepts on ``POST /api/v2/alerts``.

Its configuration is one route to a receiver with no integrations, with a group wait of an
hour: nothing is sent while it is measured, so the figure is what it takes in (validate,
deduplicate, group), the same work the router does for a repeat.
"""

import asyncio
import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.bench.machine import cpu_seconds
from tests.e2e.conftest import eventually, free_port
from tests.e2e.processes import kill_group, responds

BINARY = Path("/usr/bin/prometheus-alertmanager")

CONFIG = """
route: {receiver: nowhere, group_by: [alertname], group_wait: 1h, group_interval: 1h,
        repeat_interval: 24h}
receivers: [{name: nowhere}]
"""
STARTS_AT = "2026-03-02T11:59:00Z"


@dataclass(frozen=True)
class PeerRun:
    batch: int
    """Alerts per request."""
    alerts: int
    seconds: float
    alerts_per_second: float
    requests_per_second: float
    peer_cpu: float
    """Share of one core Alertmanager used; near 1.0, it was the limit."""
    client_cpu: float
    """Share of one core this benchmark's clients used; near 1.0, they were the limit."""


async def measure(
    directory: Path,
    label_sets: Sequence[dict[str, str]],
    *,
    alerts: int,
    batches: Sequence[int],
    clients: int,
    core: int | None,
) -> tuple[str, list[PeerRun]]:
    """Alertmanager's version, and one run per batch size, each posting ``alerts`` repeats of
    ``label_sets`` (all already known to it) from ``clients`` concurrent connections."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(directory, port, core)
    try:
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector) as http:
            await eventually(lambda: responds(http, url + "/-/ready"), what="Alertmanager")
            async with http.get(url + "/api/v2/status") as response:
                version = str((await response.json())["versionInfo"]["version"])
            api = url + "/api/v2/alerts"
            # Every alert once first, so that every measured one is a repeat.
            await _post(http, api, [_body(label_sets, 0, len(label_sets))], 1, 1)
            runs = [
                await _run(http, api, process.pid, label_sets, alerts, batch, clients)
                for batch in batches
            ]
            async with http.get(api) as response:
                active = len(await response.json())
            if active != len(label_sets):
                raise RuntimeError(f"Alertmanager holds {active} alerts, {len(label_sets)} sent")
            return version, runs
    finally:
        kill_group(process)


def _start(directory: Path, port: int, core: int | None) -> subprocess.Popen[bytes]:
    """In its own process group, like every process the benchmarks start."""
    directory.mkdir()
    config = directory / "alertmanager.yml"
    config.write_text(CONFIG)
    command = [
        str(BINARY),
        f"--config.file={config}",
        f"--storage.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # Empty: no gossip with peers, so it opens no other port and is one process alone.
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    if core is not None:
        # taskset execs Alertmanager, so the pid is Alertmanager's; Go sizes its scheduler to
        # the one core it may use.
        command = ["taskset", "-c", str(core), *command]
    with (directory / "alertmanager.log").open("ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


async def _run(
    http: aiohttp.ClientSession,
    api: str,
    pid: int,
    label_sets: Sequence[dict[str, str]],
    alerts: int,
    batch: int,
    clients: int,
) -> PeerRun:
    requests = alerts // batch
    # Serialized beforehand: the clients' own cost should not be what is measured.
    bodies = [_body(label_sets, n * batch, batch) for n in range(len(label_sets))]
    peer_before, client_before = cpu_seconds(pid), time.process_time()
    began = time.perf_counter()
    await _post(http, api, bodies, requests, clients)
    seconds = time.perf_counter() - began
    return PeerRun(
        batch=batch,
        alerts=requests * batch,
        seconds=seconds,
        alerts_per_second=requests * batch / seconds,
        requests_per_second=requests / seconds,
        peer_cpu=(cpu_seconds(pid) - peer_before) / seconds,
        client_cpu=(time.process_time() - client_before) / seconds,
    )


async def _post(
    http: aiohttp.ClientSession, api: str, bodies: Sequence[bytes], requests: int, clients: int
) -> None:
    async def client(first: int) -> None:
        for n in range(first, requests, clients):
            async with http.post(
                api, data=bodies[n % len(bodies)], headers={"Content-Type": "application/json"}
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"Alertmanager answered {response.status}")
                await response.read()

    await asyncio.gather(*(client(c) for c in range(clients)))


def _body(label_sets: Sequence[dict[str, str]], first: int, count: int) -> bytes:
    """``count`` alerts, cycling through ``label_sets`` from ``first``."""
    alerts = [
        {
            "labels": label_sets[(first + n) % len(label_sets)],
            "annotations": {"summary": "node is down"},
            "startsAt": STARTS_AT,
            "generatorURL": "http://prometheus.example:9090/graph",
        }
        for n in range(count)
    ]
    return json.dumps(alerts).encode()
