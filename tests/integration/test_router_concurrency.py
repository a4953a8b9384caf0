"""Many routers and ack clicks at once, each on its own connection, so WATCH really conflicts."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.keys import ALERT_STREAM
from ingest.models import Alert, AlertStatus
from ingest.stream import TRIM_EVERY, alert_stream
from router import keys
from router.config import Route, RoutingConfig
from router.consumer import BATCH as ROUTER_BATCH
from router.consumer import Router, dead_letters
from router.incidents import Outcome
from router.models import (
    AlertRecord,
    IncidentEventKind,
    IncidentStatus,
    TimelineEvent,
    TimelineKind,
)
from router.store import MAX_ALERTS_PAGE, IncidentStore
from tests.conftest import ManualClock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED
BLOCK = timedelta(milliseconds=10)

ROUTING = RoutingConfig(routes=[Route(name="all", policy="default", group_by=["service"])])

NOW = timedelta(0)
Connect = Callable[[], Awaitable[Redis]]


def alert(
    dedup_key: str, service: str = "checkout", status: AlertStatus = FIRING, at: datetime = T0
) -> Alert:
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=f"{dedup_key} on {service}",
        labels={"service": service},
        integration="prom",
        source="alertmanager",
        received_at=at,
    )


@pytest.fixture
async def connect(valkey_url: str, redis: Redis) -> AsyncIterator[Connect]:
    """Fresh clients, each already holding its own open connection. (Depends on ``redis`` so
    the database is flushed first.)"""
    clients: list[Redis] = []

    async def new_client() -> Redis:
        client: Redis = Redis.from_url(valkey_url, single_connection_client=True)
        clients.append(client)
        assert await client.ping()
        return client

    try:
        yield new_client
    finally:
        for client in clients:
            await client.aclose()


async def events(redis: Redis) -> list[tuple[str, IncidentEventKind]]:
    stream = IncidentStore(redis).events
    group = f"probe-{uuid4().hex}"
    await stream.ensure_group(group)
    entries = await stream.read(group, "probe", count=10_000, block=None)
    assert all(entry.model is not None for entry in entries)
    return [(e.model.incident_id, e.model.kind) for e in entries if e.model is not None]


async def test_concurrent_alerts_of_one_group_make_one_incident(
    redis: Redis, connect: Connect
) -> None:
    n = 50
    stores = [IncidentStore(await connect()) for _ in range(n)]

    changes = await asyncio.gather(
        *(
            store.apply_alert(alert(f"a{i}", at=T0 + timedelta(seconds=i)), ROUTING)
            for i, store in enumerate(stores)
        )
    )

    outcomes = sorted(change.outcome for change in changes)
    assert outcomes.count(Outcome.OPENED) == 1
    assert outcomes.count(Outcome.JOINED) == n - 1
    incidents = await IncidentStore(redis).list()
    assert len(incidents) == 1
    incident = incidents[0]
    stored = await records(redis, incident.id)
    assert set(stored) == {f"a{i}" for i in range(n)}
    assert all(record.count == 1 for record in stored.values())
    added = [e for e in await timeline(redis, incident.id) if e.kind is TimelineKind.ALERT_ADDED]
    assert len(added) == n
    assert await events(redis) == [(incident.id, IncidentEventKind.OPENED)]
    # Each alert is applied whole by one script: no router ever lost a race to open it.
    assert int(await redis.get(keys.INCIDENT_SEQ) or 0) == 1


async def test_concurrent_repeats_of_one_alert_count_every_one(
    redis: Redis, connect: Connect
) -> None:
    n = 30
    stores = [IncidentStore(await connect()) for _ in range(n)]

    await asyncio.gather(
        *(
            store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{i}")
            for i, store in enumerate(stores)
        )
    )
    # The same deliveries again, concurrently: all duplicates.
    again = await asyncio.gather(
        *(
            store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{i}")
            for i, store in enumerate(stores)
        )
    )

    assert {change.outcome for change in again} == {Outcome.DUPLICATE}
    [incident] = await IncidentStore(redis).list()
    assert (await records(redis, incident.id))["disk"].count == n


async def test_concurrent_acks_timeline_and_alerts_lose_nothing(
    redis: Redis, connect: Connect
) -> None:
    opened = await IncidentStore(redis).apply_alert(alert("first"), ROUTING)
    assert opened.incident is not None
    incident_id = opened.incident.id
    people = [f"person-{i}" for i in range(5)]
    pages = [
        TimelineEvent(at=T0 + timedelta(seconds=i), kind=TimelineKind.PAGED, detail=f"page {i}")
        for i in range(30)
    ]
    joining = [alert(f"joined-{i}") for i in range(10)]

    work: list[Awaitable[object]] = []
    for person in people:
        work.append(IncidentStore(await connect()).acknowledge(incident_id, person, T0))
    for page in pages:
        work.append(IncidentStore(await connect()).add_timeline(incident_id, [page]))
    for a in joining:
        work.append(IncidentStore(await connect()).apply_alert(a, ROUTING))
    await asyncio.gather(*work)

    incident = await IncidentStore(redis).get(incident_id)
    assert incident is not None
    story = await timeline(redis, incident_id)
    details = {event.detail for event in story}
    assert {page.detail for page in pages} <= details
    assert {a.summary for a in joining} <= details
    assert set(await records(redis, incident_id)) == {"first"} | {a.dedup_key for a in joining}
    acks = [e for e in story if e.kind is TimelineKind.ACKNOWLEDGED]
    assert len(acks) == 1
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_by in people
    assert acks[0].person == incident.acknowledged_by
    assert len(story) == 2 + len(pages) + len(joining) + 1
    assert await events(redis) == [
        (incident_id, IncidentEventKind.OPENED),
        (incident_id, IncidentEventKind.ACKNOWLEDGED),
    ]


async def records(redis: Redis, incident_id: str) -> dict[str, AlertRecord]:
    found, _ = await IncidentStore(redis).alerts(incident_id, limit=MAX_ALERTS_PAGE)
    return {record.dedup_key: record for record in found}


async def timeline(redis: Redis, incident_id: str) -> list[TimelineEvent]:
    return await IncidentStore(redis).timeline(incident_id)


def outcome_count(registry: CollectorRegistry, outcome: str) -> float:
    return registry.get_sample_value("tocsin_router_alerts_total", {"outcome": outcome}) or 0.0


async def make_router(connect: Connect, name: str) -> tuple[Router, CollectorRegistry]:
    registry = CollectorRegistry()
    # Entries left pending are due again at once: the test decides when a router steps.
    router = Router(
        await connect(), ROUTING, name, registry, ManualClock(), block=BLOCK, retry_after=NOW
    )
    await router.alerts.ensure_group(keys.CONSUMER_GROUP)
    return router, registry


async def drain(*routers: Router) -> list[int]:
    """Step every router at once until a round in which none acknowledged anything."""
    acked = [0] * len(routers)
    for _ in range(100):
        counts = await asyncio.gather(*(router.step() for router in routers))
        if not any(counts):
            return acked
        acked = [total + count for total, count in zip(acked, counts, strict=True)]
    raise AssertionError("the stream did not drain")


async def pending(redis: Redis) -> int:
    summary = await redis.xpending(ALERT_STREAM, keys.CONSUMER_GROUP)
    return int(summary["pending"])


async def test_two_routers_share_the_stream(redis: Redis, connect: Connect) -> None:
    services = ["checkout", "search", "billing"]
    alerts = [
        alert(f"a{i % 40}", service=services[i % 3], at=T0 + timedelta(milliseconds=i))
        for i in range(ROUTER_BATCH * 2 + 250)  # more than one batch for each router
    ]
    await alert_stream(redis).append(alerts)
    (one, reg_one), (two, reg_two) = [await make_router(connect, n) for n in ("r1", "r2")]

    acked = await drain(one, two)

    assert sum(acked) == len(alerts)
    assert all(count > 0 for count in acked), "both routers should have taken a batch"
    assert await pending(redis) == 0
    incidents = await IncidentStore(redis).list()
    assert sorted(i.group_labels["service"] for i in incidents) == sorted(services)
    for incident in incidents:
        service = incident.group_labels["service"]
        mine = [a for a in alerts if a.labels["service"] == service]
        stored = await records(redis, incident.id)
        assert set(stored) == {a.dedup_key for a in mine}
        assert sum(r.count for r in stored.values()) == len(mine)
    assert sorted(kind for _, kind in await events(redis)) == [IncidentEventKind.OPENED] * 3
    applied = {
        outcome: outcome_count(reg_one, outcome) + outcome_count(reg_two, outcome)
        for outcome in ("opened", "joined", "repeated")
    }
    distinct = len({(a.dedup_key, a.labels["service"]) for a in alerts})
    assert distinct == 120
    assert applied == {"opened": 3, "joined": distinct - 3, "repeated": len(alerts) - distinct}


async def test_an_unreadable_entry_is_a_dead_letter_and_the_rest_flow(
    redis: Redis, connect: Connect
) -> None:
    await redis.xadd(ALERT_STREAM, {"m": "this is not an alert"})
    await redis.xadd(ALERT_STREAM, {"m": '{"dedup_key": ""}'})
    await alert_stream(redis).append([alert("disk")])
    router, registry = await make_router(connect, "r1")

    assert await drain(router) == [3]

    assert registry.get_sample_value("tocsin_dead_letters_total", {"stage": "router"}) == 2
    assert outcome_count(registry, "opened") == 1
    opened = {"severity": "SEV2", "route": "all"}
    assert registry.get_sample_value("tocsin_incidents_opened_total", opened) == 1
    assert await pending(redis) == 0
    assert len(await IncidentStore(redis).list()) == 1
    letters = [letter for _, letter in await dead_letters(redis).list()]
    assert [letter.payload for letter in letters] == ["this is not an alert", '{"dedup_key": ""}']
    assert all(letter.error.startswith("unreadable entry: ") for letter in letters)


async def test_a_restarted_router_does_not_apply_its_pending_entries_twice(
    redis: Redis, connect: Connect
) -> None:
    await alert_stream(redis).append([alert("disk"), alert("cpu")])
    crashed, _ = await make_router(connect, "r1")
    # The first life of r1 read both entries and stored their effect, then died before XACK.
    entries = await crashed.alerts.read(keys.CONSUMER_GROUP, crashed.consumer.consumer, block=None)
    assert len(entries) == 2
    for entry in entries:
        assert entry.model is not None
        await crashed.store.apply_alert(entry.model, ROUTING, entry.id)
    assert await pending(redis) == 2

    restarted, registry = await make_router(connect, "r1")
    assert await drain(restarted) == [2]

    assert outcome_count(registry, "duplicate") == 2
    assert await pending(redis) == 0
    [incident] = await IncidentStore(redis).list()
    stored = await records(redis, incident.id)
    assert {key: r.count for key, r in stored.items()} == {"disk": 1, "cpu": 1}


async def test_run_creates_the_consumer_group_and_returns_when_stopped(
    redis: Redis, connect: Connect
) -> None:
    router = Router(await connect(), ROUTING, "r1", CollectorRegistry(), ManualClock(), block=BLOCK)
    stop = asyncio.Event()
    stop.set()

    await router.run(stop)

    groups = await redis.xinfo_groups(ALERT_STREAM)
    assert [g["name"] for g in groups] == [keys.CONSUMER_GROUP.encode()]


async def test_the_router_trims_what_it_consumed(redis: Redis, connect: Connect) -> None:
    alerts = [alert(f"a{i % 7}", at=T0 + timedelta(milliseconds=i)) for i in range(TRIM_EVERY)]
    await alert_stream(redis).append(alerts)
    router, _ = await make_router(connect, "r1")

    assert await drain(router) == [TRIM_EVERY]

    assert await pending(redis) == 0
    # Everything acknowledged is gone (the last delivered entry may stay as the trim mark).
    assert await redis.xlen(ALERT_STREAM) <= 1
    [incident] = await IncidentStore(redis).list()
    assert sum(r.count for r in (await records(redis, incident.id)).values()) == TRIM_EVERY
