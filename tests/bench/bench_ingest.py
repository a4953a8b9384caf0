"""Webhook ingest throughput: accepted requests and alerts a second, and the latency of a 202,
for Alertmanager payloads of 1 and 10 alerts, against a real ``tocsin web`` process (issue
"Ingest": Throughput), beside aiohttp's own ceiling for the same requests (a trivial handler
that only parses the JSON, ``tests.bench.ingest_ceiling``).

The server under test gets one core; ``wrk`` (Debian's ``wrk``: C, one thread, many
connections) and Valkey share the other, so the sender never takes the server's CPU. Valkey
runs as deploy/valkey/ configures it (append-only file, fsync every second), one primary,
``TOCSIN_DURABILITY=primary``. Nothing routes the alerts; the stream is emptied between runs.
Each run is a warm-up then a fixed duration; the CPU the server used is read from /proc;
--profile DIR samples each ``tocsin web`` run with py-spy and lists its top functions.
Loopback only; every process is killed on the way out.

    apt-get install wrk
    .venv/bin/python -m tests.bench.bench_ingest [--seconds 10] [--connections 64]
    .venv/bin/python -m tests.bench.bench_ingest --profile prof
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.keys import ALERT_STREAM
from tests.bench.machine import cpu_seconds, pin, start_profile, stop_profile, top_functions
from tests.e2e.conftest import eventually
from tests.e2e.processes import kill_group, start_tocsin
from tests.e2e.store_outages import ready
from tests.valkey_processes import Store, free_port

FIXTURE = Path(__file__).parents[1] / "fixtures" / "payloads" / "alertmanager" / "firing.json"
TOKEN = "bench-token"
WEBHOOK = f"/v1/webhooks/alertmanager/{TOKEN}"
CONFIG = f"""
integrations: [{{name: bench, type: alertmanager, token: {TOKEN}}}]
people: {{oncall: {{name: On Call, webhook: "http://127.0.0.1:9/oncall"}}}}
escalation_policies:
  bench: {{levels: [{{targets: ["person:oncall"], ack_timeout: 1h}}]}}
routes: [{{match: {{}}, policy: bench}}]
"""
WARM_UP_SECONDS = 2
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def payload(alerts: int) -> bytes:
    """Alertmanager's notification of ``alerts`` firing alerts of one group (~1 KB each)."""
    notification = json.loads(FIXTURE.read_text())
    (template,) = notification["alerts"]
    notification["alerts"] = [
        {
            **template,
            "labels": {**template["labels"], "instance": f"api-{n}.prod.example.com:8080"},
            "fingerprint": f"{n:016x}",
        }
        for n in range(alerts)
    ]
    return json.dumps(notification).encode()


@dataclass(frozen=True)
class Run:
    server: str
    batch: int
    requests: int
    rejected: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    store_cpu_seconds: float

    @property
    def accepted_per_second(self) -> float:
        return (self.requests - self.rejected) / self.seconds

    def row(self) -> str:
        return (
            f"| {self.server:<8} | {self.batch:>5} | {self.accepted_per_second:>10,.0f} "
            f"| {self.accepted_per_second * self.batch:>10,.0f} | {self.rejected:>8} "
            f"| {self.p50_ms:>6.2f} | {self.p99_ms:>6.2f} "
            f"| {100 * self.cpu_seconds / self.seconds:>4.0f}% "
            f"| {100 * self.store_cpu_seconds / self.seconds:>6.0f}% "
            f"| {1e6 * self.cpu_seconds / (self.requests - self.rejected):>14.0f} |"
        )


def wrk(url: str, body: Path, seconds: int, connections: int, core: int) -> str:
    script = body.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = io.open("{body}", "rb"):read("*a")\n'
    )
    command = [
        *("taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"),
        *("--latency", "-s", str(script), url),
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def parse(server: str, batch: int, output: str, cpu: float, store_cpu: float) -> Run:
    def number(pattern: str) -> str:
        found = re.search(pattern, output)
        assert found, f"wrk said nothing matching {pattern!r}:\n{output}"
        return found[1]

    def latency(percent: int) -> float:
        value = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", output, re.MULTILINE)
        assert value, output
        return float(value[1]) * _UNITS[value[2]]

    requests = int(number(r"(\d+) requests in"))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # Connections wrk could not use count as refused too: no 202 came back.
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = sum(map(int, errors.groups())) if errors else 0
    rejected = (int(found[1]) if found else 0) + failed
    seconds = float(number(r"requests in ([\d.]+)s"))
    return Run(server, batch, requests, rejected, seconds, latency(50), latency(99), cpu, store_cpu)


def measure(
    server: str,
    pid: int,
    store_pid: int,
    url: str,
    bodies: dict[int, Path],
    seconds: int,
    connections: int,
    sender_core: int,
) -> list[Run]:
    runs = []
    for batch, body in bodies.items():
        wrk(url + WEBHOOK, body, WARM_UP_SECONDS, connections, sender_core)
        before, store_before = cpu_seconds(pid), cpu_seconds(store_pid)
        output = wrk(url + WEBHOOK, body, seconds, connections, sender_core)
        cpu, store_cpu = cpu_seconds(pid) - before, cpu_seconds(store_pid) - store_before
        runs.append(parse(server, batch, output, cpu, store_cpu))
    return runs


def start_ceiling(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bench.ingest_ceiling", str(port)], start_new_session=True
    )


async def main(seconds: int, connections: int, profile: Path | None) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench_ingest sends with wrk: apt-get install wrk")
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("bench_ingest needs two cores: one for the server, one for the sender")
    server_core, sender_core = cores[0], cores[1]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        bodies = {}
        for batch in (1, 10):
            bodies[batch] = directory / f"batch-{batch}.json"
            bodies[batch].write_bytes(payload(batch))
        store = Store(directory / "store")
        try:
            store.start_servers(replica=False)
            await eventually(lambda: store.answers(store.primary), what="Valkey")
            store_pid = store.servers["primary"].process.pid  # type: ignore[union-attr]
            pin(store_pid, sender_core)

            port = free_port()
            url = f"http://127.0.0.1:{port}"
            ceiling = start_ceiling(port)
            try:
                pin(ceiling.pid, server_core)
                await eventually(lambda: ready(url), what="the ceiling server")
                runs += measure(
                    "aiohttp",
                    ceiling.pid,
                    store_pid,
                    url,
                    bodies,
                    seconds,
                    connections,
                    sender_core,
                )
            finally:
                kill_group(ceiling)

            config = directory / "tocsin.yaml"
            config.write_text(CONFIG)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {"TOCSIN_REDIS_URL": store.url(), "TOCSIN_SECRET_KEY": "bench-secret-key"}
            web = start_tocsin(
                ["web", "--config", str(config), "--port", str(port)], cwd=directory, env=env
            )
            profiler = None
            try:
                pin(web.pid, server_core)
                await eventually(lambda: ready(url), what="tocsin web")
                if profile is not None:
                    profiler = start_profile(web.pid, profile / "web.txt")
                runs += measure(
                    "tocsin", web.pid, store_pid, url, bodies, seconds, connections, sender_core
                )
                length = store.client(store.primary).xlen(ALERT_STREAM)
            finally:
                kill_group(web)
                if profiler is not None:
                    stop_profile(profiler)
        finally:
            store.stop()
    print(
        f"POST {WEBHOOK} (Alertmanager payloads), {connections} connections, {seconds:g} s per "
        f"run; server on core {server_core}, wrk and Valkey on core {sender_core}"
    )
    print(
        "| server   | batch | accepted/s | alerts/s   | refused  | p50 ms | p99 ms | CPU  "
        "| Valkey | CPU µs/request |"
    )
    print(
        "|----------|-------|------------|------------|----------|--------|--------|------"
        "|--------|----------------|"
    )
    for run in runs:
        print(run.row())
    print(f"alerts on the stream after the tocsin runs: {length:,}")
    # On a shared machine the rates move with what else runs; CPU per request does not much.
    print("CPU µs/request: the server's CPU time per accepted request (1e6 / it: requests/s")
    print("on a core of its own)")
    if profile is not None:
        print(f"tocsin web, most own time (py-spy, {profile / 'web.txt'}):")
        for function, own, under in top_functions(profile / "web.txt", 15):
            print(f"  {own:5.1f}% own {under:5.1f}% under  {function}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="measured, per run")
    parser.add_argument("--connections", type=int, default=64, help="concurrent senders")
    parser.add_argument("--profile", type=Path, help="directory for py-spy's samples")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.seconds, args.connections, args.profile))
