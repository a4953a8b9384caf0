"""Four ``tocsin router`` processes take a storm of 5,000 alerts into 300 groups from one
stream, and one of them is killed (SIGKILL) in the middle of a batch and started again, as a
supervisor would. Still: one incident per group (those past the route's storm limit inside
the one storm incident), every alert stored once and counted once, and one page per incident
and person, from a ``tocsin worker`` posting to a webhook sink."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ingest.models import Alert
from ingest.stream import alert_stream
from notifier import keys as notifier_keys
from router import keys as router_keys
from router.models import Incident
from router.store import MAX_ALERTS_PAGE, IncidentStore
from tests.e2e.conftest import Sink, eventually, nothing_left, write_config
from tests.e2e.processes import RoleProcess, all_ready, started
from tests.e2e.test_two_routers import alert, processes

ROUTERS = 4
GROUPS = 300
ALERTS = 5000
STORM_LIMIT = 50
APPEND = 250
"""Alerts per append to the stream: the storm arrives in pieces, as webhooks bring it."""


@pytest.fixture
def fleet(tmp_path: Path, valkey_url: str, redis: Redis, sink: Sink) -> Iterator[list[RoleProcess]]:
    config = write_config(
        tmp_path, smtp_port=None, sink_url=sink.url, ack_timeout="1s", storm_limit=STORM_LIMIT
    )
    env = {"TOCSIN_REDIS_URL": valkey_url, "TOCSIN_SECRET_KEY": "k" * 32}
    with started(["router"] * ROUTERS + ["worker"], config, tmp_path, env) as fleet:
        yield fleet


def storm(minute: datetime) -> list[Alert]:
    """Groups interleaved, all received within one minute: the storm limit counts per minute."""
    return [
        alert(n % GROUPS, n).model_copy(update={"received_at": minute + timedelta(milliseconds=n)})
        for n in range(ALERTS)
    ]


async def reading(redis: Redis) -> set[str]:
    """The router processes reading the alert stream."""
    try:
        consumers = await redis.xinfo_consumers(alert_stream(redis).key, router_keys.CONSUMER_GROUP)
    except ResponseError:  # no group yet
        return set()
    return processes(consumers)


async def pending_of(redis: Redis, router: RoleProcess) -> int:
    """Entries the router read and has not acknowledged, over its lanes."""
    stream = alert_stream(redis).key
    consumers = await redis.xinfo_consumers(stream, router_keys.CONSUMER_GROUP)
    return sum(
        int(c["pending"])
        for c in consumers
        if str(c["name"]).rpartition(":")[0].endswith(f"-{router.port}")
    )


async def kill_mid_batch(redis: Redis, router: RoleProcess) -> int:
    """SIGKILL the router as soon as it holds entries it read and has not acknowledged (it is
    applying them); returns how many it held."""
    held = 0

    async def holding() -> bool:
        nonlocal held
        held = await pending_of(redis, router)
        return held > 0

    await eventually(holding, within=30, interval=0.001, what="the router to read a batch")
    router.kill()
    return held


async def all_records(store: IncidentStore, incidents: list[Incident]) -> dict[str, list[str]]:
    """Per incident, the cluster of each of its alerts (one entry per stored count)."""
    found: dict[str, list[str]] = {}
    for incident in incidents:
        clusters = found[incident.id] = []
        cursor: int | None = 0
        while cursor is not None:
            records, cursor = await store.alerts(incident.id, limit=MAX_ALERTS_PAGE, cursor=cursor)
            clusters += [r.labels["cluster"] for r in records for _ in range(r.count)]
    return found


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_four_routers_and_a_crash_mid_batch_lose_and_repeat_nothing(
    fleet: list[RoleProcess], redis: Redis, sink: Sink
) -> None:
    began = time.monotonic()
    routers = [p for p in fleet if p.role == "router"]
    victim = routers[0]
    await eventually(lambda: all_ready(fleet), within=30, interval=0.1, what="the fleet")

    async def every_router_reading() -> bool:
        # Or the first router up could take the whole storm.
        return len(await reading(redis)) == ROUTERS

    await eventually(every_router_reading, within=30, what="every router to read")
    alerts = storm(datetime.now(UTC).replace(second=0, microsecond=0))
    stream = alert_stream(redis)

    killing = asyncio.create_task(kill_mid_batch(redis, victim))
    for start in range(0, ALERTS, APPEND):
        await stream.append(alerts[start : start + APPEND])
    caught = await killing
    # Killed before it acknowledged: its batch is still pending, to be applied again.
    left = await pending_of(redis, victim)
    assert left > 0, "the router finished its batch before the kill"
    victim.start()

    await eventually(lambda: nothing_left(redis), within=45, interval=0.1, what="all done")

    store = IncidentStore(redis)
    incidents = await store.list(limit=1000)
    storms = [i for i in incidents if i.storm is not None]
    own = [i for i in incidents if i.storm is None]
    stored = await all_records(store, incidents)
    print(
        f"\nstorm: {ALERTS} alerts, {GROUPS} groups, {ROUTERS} routers; the victim was killed "
        f"with {left} entries pending (first seen: {caught}); {len(own)} incidents + "
        f"{len(storms)} storm, {len(sink.received)} pages; {time.monotonic() - began:.1f}s"
    )

    # One incident per group, each group's alerts all in the one it opened or joined.
    assert len(own) == STORM_LIMIT
    [storm_incident] = storms
    assert storm_incident.storm is not None
    assert storm_incident.storm.groups == GROUPS - STORM_LIMIT
    for incident in own:
        assert set(stored[incident.id]) == {incident.group_labels["cluster"]}
    per_group = {
        cluster: {i for i, clusters in stored.items() if cluster in clusters}
        for clusters in stored.values()
        for cluster in clusters
    }
    assert len(per_group) == GROUPS
    assert all(len(holders) == 1 for holders in per_group.values())
    # Every alert stored, and counted once although the victim's batch was applied again.
    assert sum(i.alerts_total for i in incidents) == ALERTS
    assert sum(len(clusters) for clusters in stored.values()) == ALERTS
    # One page per incident and person: Alice at level 1, Bob after her timeout.
    pages = sink.pages()
    assert set(pages) == {
        (i.id, level, person) for i in incidents for level, person in ((1, "alice"), (2, "bob"))
    }
    assert [copies for copies in pages.values() if len(copies) > 1] == []
    for dead in (router_keys.DEAD_LETTERS, notifier_keys.DEAD_LETTERS):
        assert await redis.xlen(dead) == 0
    assert {p.name: p.tracebacks() for p in fleet} == {p.name: 0 for p in fleet}
