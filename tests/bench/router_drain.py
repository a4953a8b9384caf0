"""Draining a backlog through one ``tocsin router`` process, and what it cost.

Only what stays the same when the router's storage changes is used: the process, the alert
stream it reads (``Alert`` JSON entries, consumer group ``router``), its ``/metrics``
(``tocsin_router_alerts_total``) and the router's key prefix in Valkey.
"""

import asyncio
import re
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from ingest.keys import ALERT_STREAM
from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream, as_text
from router.keys import CONSUMER_GROUP, PREFIX
from tests.bench.machine import Cores, cpu_seconds, pin, start_profile, stop_profile
from tests.e2e.conftest import eventually, free_port
from tests.e2e.processes import kill_group, responds, start_tocsin

CONFIG = """
integrations: [{name: bench, type: alertmanager, token: bench-token}]
people: {oncall: {name: On Call, console: true}}
escalation_policies:
  bench: {levels: [{targets: ["person:oncall"], ack_timeout: 1h}]}
routes:
  - {name: one-per-alert, match: {bench: incidents}, policy: bench}
  - {name: grouped, match: {}, policy: bench, group_by: [bench]}
"""
REPEATED = 100
"""Distinct alerts in the repeats scenario (and in Alertmanager's)."""
STORM_SIZES = (1000, 5000, 20000)
"""Incident sizes at which the storm's cost per alert is reported."""
SAMPLE_EVERY = 0.05
PIPELINE = 1000
"""Commands per round trip when filling the stream or sizing keys."""
STARTS_AT = datetime(2026, 3, 2, 11, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    name: str
    figure: str
    """What its rate is, in the issue's words."""
    alerts: int
    distinct: int | None
    """That many alerts repeated in turn; ``None``: every alert distinct."""
    seconds: float
    """Cap on the router's run."""
    one_incident: bool = False
    """Every alert joins one incident: report the cost per alert as it grows."""


@dataclass(frozen=True)
class Sample:
    at: float
    applied: int
    router_cpu: float
    valkey_cpu: float
    valkey_commands: int


@dataclass
class RouterRun:
    scenario: str
    figure: str
    backlog: int
    applied: int
    drained: bool
    seconds: float
    per_second: float
    router_cpu: float
    """Share of one core, while alerts were being applied."""
    router_cpu_ms_per_alert: float
    """CPU time per alert: unlike the rate, it hardly moves when others share the core."""
    valkey_cpu: float
    commands_per_alert: float
    router_bytes_per_alert: float
    """MEMORY USAGE of every router key, divided by the alerts applied."""
    used_memory_per_alert: float
    """Growth of Valkey's used_memory, without the alert stream, divided likewise."""
    bytes_by_key: dict[str, int]
    ms_per_alert_at: dict[int, float] = field(default_factory=dict)
    """One incident only: at every chunk's end and where it stopped, incident size -> ms per
    alert over the chunk that brought it there."""
    cpu_ms_per_alert_at: dict[int, float] = field(default_factory=dict)
    """The same in the router's CPU time."""


def labels(scenario: str, n: int) -> dict[str, str]:
    return {
        "alertname": "NodeDown",
        "service": "payments",
        "cluster": "eu1",
        "instance": f"node-{n}",
        "severity": "critical",
        "bench": scenario,
    }


def bench_alert(scenario: str, n: int, received: datetime) -> Alert:
    return Alert(
        dedup_key=f"{scenario}-{n}",
        status=AlertStatus.FIRING,
        summary=f"node-{n} is down",
        labels=labels(scenario, n),
        annotations={"summary": "node is down"},
        integration="bench",
        source="alertmanager",
        generator_url="http://prometheus.example:9090/graph",
        starts_at=STARTS_AT,
        received_at=received,
    )


async def fill(redis: Redis, scenario: Scenario) -> None:
    stream = alert_stream(redis)
    received = datetime.now(UTC)
    for first in range(0, scenario.alerts, PIPELINE):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(first, min(first + PIPELINE, scenario.alerts)):
                number = n if scenario.distinct is None else n % scenario.distinct
                stream.stage(pipe, bench_alert(scenario.name, number, received))
            await pipe.execute()


async def run_router(
    scenario: Scenario,
    redis: Redis,
    http: aiohttp.ClientSession,
    env: dict[str, str],
    directory: Path,
    cores: Cores,
    chunk: int,
    profile: Path | None,
) -> RouterRun:
    # SYNC: Valkey frees a flush in the background by default, which the baseline would count.
    await redis.execute_command("FLUSHALL", "SYNC")  # type: ignore[no-untyped-call]
    baseline = int((await redis.info("memory"))["used_memory"])
    await fill(redis, scenario)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = directory / "tocsin.yaml"
    process = start_tocsin(
        ["router", "--config", str(config), "--port", str(port)], cwd=directory, env=env
    )
    profiler = None
    try:
        pin(process.pid, cores.router)
        if profile is not None:
            profiler = start_profile(process.pid, profile / f"router-{scenario.name}.txt")
        await eventually(lambda: responds(http, url + "/healthz"), what="tocsin router")
        samples, drained = await follow(process, redis, http, url, scenario.seconds)
    except Exception:
        print((directory / "tocsin-router.log").read_text()[-4000:])
        raise
    finally:
        kill_group(process)
        if profiler is not None:
            stop_profile(profiler)
    return summarize(scenario, samples, drained, chunk, baseline, await router_memory(redis))


async def follow(
    process: subprocess.Popen[bytes],
    redis: Redis,
    http: aiohttp.ClientSession,
    url: str,
    cap: float,
) -> tuple[list[Sample], bool]:
    """Samples until the group is drained or ``cap`` seconds passed; and whether drained."""
    samples: list[Sample] = []
    deadline = time.monotonic() + cap
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"tocsin router exited with {process.returncode}")
        # Drained first: every alert acknowledged by then is counted by the read after it.
        done = await drained(redis)
        cpu, stats = await redis.info("cpu"), await redis.info("stats")
        applied = await applied_alerts(http, url)
        samples.append(
            Sample(
                at=time.perf_counter(),
                applied=applied,
                router_cpu=cpu_seconds(process.pid),
                valkey_cpu=float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
                valkey_commands=int(stats["total_commands_processed"]),
            )
        )
        if done or time.monotonic() > deadline:
            return samples, done
        await asyncio.sleep(SAMPLE_EVERY)


async def applied_alerts(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url + "/metrics") as response:
        text = await response.text()
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "tocsin_router_alerts_total"
        )
    )


async def drained(redis: Redis) -> bool:
    groups = await redis.xinfo_groups(ALERT_STREAM)
    group = next((g for g in groups if as_text(g["name"]) == CONSUMER_GROUP), None)
    return group is not None and group["lag"] == 0 and group["pending"] == 0


async def router_memory(redis: Redis) -> tuple[dict[str, int], int]:
    """Bytes of the router's keys by kind (ids in names become ``*``), and used_memory
    without the alert stream (what is left of it is the benchmark's input, not stored state)."""
    names = [name async for name in redis.scan_iter(match=PREFIX + "*", count=1000)]
    by_kind: Counter[str] = Counter()
    for first in range(0, len(names), PIPELINE):
        part = names[first : first + PIPELINE]
        async with redis.pipeline(transaction=False) as pipe:
            for name in part:
                pipe.memory_usage(name, samples=0)
            sizes = await pipe.execute()
        for name, size in zip(part, sizes, strict=True):
            by_kind[_kind(as_text(name))] += int(size or 0)
    stream = int(await redis.memory_usage(ALERT_STREAM, samples=0) or 0)
    used = int((await redis.info("memory"))["used_memory"])
    return dict(by_kind.most_common()), used - stream


def _kind(name: str) -> str:
    return re.sub(r"\d+-\d+|[0-9a-f]{16,}|\d+", "*", name)


def summarize(
    scenario: Scenario,
    samples: list[Sample],
    drained: bool,
    chunk: int,
    baseline: int,
    memory: tuple[dict[str, int], int],
) -> RouterRun:
    # From the first sample with an alert applied: the process's start is not its throughput.
    first = next((s for s in samples if s.applied), samples[-1])
    last = samples[-1]
    span = max(last.at - first.at, 1e-9)
    done = max(last.applied - first.applied, 1)
    by_kind, used = memory
    applied = max(last.applied, 1)
    run = RouterRun(
        scenario=scenario.name,
        figure=scenario.figure,
        backlog=scenario.alerts,
        applied=last.applied,
        drained=drained,
        seconds=last.at - samples[0].at,
        per_second=(last.applied - first.applied) / span,
        router_cpu=(last.router_cpu - first.router_cpu) / span,
        router_cpu_ms_per_alert=1000 * (last.router_cpu - first.router_cpu) / done,
        valkey_cpu=(last.valkey_cpu - first.valkey_cpu) / span,
        commands_per_alert=(last.valkey_commands - first.valkey_commands) / done,
        router_bytes_per_alert=sum(by_kind.values()) / applied,
        used_memory_per_alert=(used - baseline) / applied,
        bytes_by_key=by_kind,
    )
    # From the second chunk: the first one's start blurs with the process's.
    if scenario.one_incident and last.applied >= 2 * chunk:
        named = (s for s in STORM_SIZES if 2 * chunk <= s <= last.applied)
        sizes = {*range(2 * chunk, last.applied + 1, chunk), *named, last.applied}
        for size in sorted(sizes):
            (start, start_cpu), (end, end_cpu) = (
                reached(samples, size - chunk),
                reached(samples, size),
            )
            run.ms_per_alert_at[size] = 1000 * (end - start) / chunk
            run.cpu_ms_per_alert_at[size] = 1000 * (end_cpu - start_cpu) / chunk
    return run


def reached(samples: Sequence[Sample], applied: int) -> tuple[float, float]:
    """The time and the router's CPU seconds when the ``applied``-th alert was applied,
    interpolated between samples."""
    for before, after in pairwise(samples):
        if after.applied >= applied:
            share = max((applied - before.applied) / max(after.applied - before.applied, 1), 0)
            return (
                before.at + share * (after.at - before.at),
                before.router_cpu + share * (after.router_cpu - before.router_cpu),
            )
    raise ValueError(f"never reached {applied} alerts")
