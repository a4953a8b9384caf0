"""What each TOCSIN_DURABILITY costs a webhook: accepted webhooks a second and the latency of
a 202, against a real ``tocsin web`` in its own process and a Valkey primary with one
replica started from deploy/valkey/ (append-only file on both, ``appendfsync everysec``, so
``aof`` and ``replica-aof`` wait for an fsync that happens once a second).

For each level in turn: start ``tocsin web`` with it, send a bounded number of webhooks from
a few concurrent clients on 127.0.0.1, stop it. Nothing routes the alerts; only the ingest
path is measured. Loopback only; every loop is bounded.

    .venv/bin/python -m tests.bench.bench_durability [--requests 400] [--clients 8]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ingest.stream import Durability
from tests.e2e.conftest import eventually
from tests.e2e.store_outages import (
    GENERIC_WEBHOOK,
    SECRET_KEY,
    generic_alert,
    ready,
    tocsin_roles,
    write_paging_config,
)
from tests.valkey_processes import Store, free_port

WARM_UP = 20
"""Requests per level before measuring: connections opened, the script cached."""


@dataclass(frozen=True)
class Result:
    durability: Durability
    seconds: float
    latencies: list[float]

    def row(self) -> str:
        ms = sorted(s * 1000 for s in self.latencies)
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        rate = len(ms) / self.seconds
        return (
            f"| {self.durability.value:<11} | {len(ms):>8} | {rate:>10,.0f} | {cuts[49]:>7.1f} "
            f"| {cuts[98]:>7.1f} | {ms[-1]:>7.1f} |"
        )


async def measure(url: str, durability: Durability, requests: int, clients: int) -> Result:
    webhook = url + GENERIC_WEBHOOK
    latencies: list[float] = []
    body = generic_alert(f"bench {durability.value}")
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(count: int, record: bool) -> None:
            for _ in range(count):
                began = time.perf_counter()
                async with http.post(webhook, json=body) as response:
                    await response.read()
                    assert response.status == 202, f"{durability}: {response.status}"
                if record:
                    latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(client(WARM_UP // clients + 1, False) for _ in range(clients)))
        began = time.perf_counter()
        await asyncio.gather(*(client(requests // clients, True) for _ in range(clients)))
        return Result(durability, time.perf_counter() - began, latencies)


async def main(requests: int, clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        store = Store(directory / "store")
        try:
            store.start_servers()
            await eventually(store.replicating, what="the replica to attach")
            config = write_paging_config(directory, "http://127.0.0.1:9")
            results = []
            for durability in Durability:
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                env = {
                    "TOCSIN_REDIS_URL": store.url(),
                    "TOCSIN_DURABILITY": durability.value,
                    "TOCSIN_SECRET_KEY": SECRET_KEY,
                }
                command = ["web", "--config", str(config), "--port", str(port)]
                with tocsin_roles([command], cwd=directory, env=env):
                    await eventually(lambda: ready(url), what="tocsin web")  # noqa: B023
                    results.append(await measure(url, durability, requests, clients))
        finally:
            store.stop()
    print(
        f"webhook -> 202 by TOCSIN_DURABILITY: {clients} concurrent clients, "
        f"primary + 1 replica, appendonly yes, appendfsync everysec"
    )
    print("| durability  | requests | accepts/s  | p50 ms  | p99 ms  | max ms  |")
    print("|-------------|----------|------------|---------|---------|---------|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="measured, per level")
    parser.add_argument("--clients", type=int, default=8, help="concurrent senders")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.clients))
