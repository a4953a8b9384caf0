"""Storm control against a real Valkey: past a route's ``storm_limit`` of new incidents in a
minute, new groups join one storm incident, which pages once and resolves like any other."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router import keys
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.incidents import Change, Outcome
from router.models import Incident, IncidentEventKind, IncidentStatus, Storm, TimelineKind
from router.script_args import STORM_LISTED
from router.store import IncidentStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED
LIMIT = 3

ROUTING = RoutingConfig(
    routes=[Route(name="infra", policy="ops", group_by=["host"], storm_limit=LIMIT)],
    severity=[SeverityRule(match={"severity": "critical"}, level=Severity.SEV1)],
)


def alert(
    host: str,
    check: str = "disk",
    status: AlertStatus = FIRING,
    at: datetime = T0,
    **labels: str,
) -> Alert:
    return Alert(
        dedup_key=f"{check}-{host}",
        status=status,
        summary=f"{check} on {host}",
        labels={"host": host, "check": check, **labels},
        integration="prom",
        source="alertmanager",
        received_at=at,
    )


@pytest.fixture
def store(redis: Redis) -> IncidentStore:
    return IncidentStore(redis)


async def apply(store: IncidentStore, alerts: Sequence[Alert], first: int = 0) -> list[Change]:
    """Each alert as the stream entry ``1-<first + n>``, in one batch."""
    batch = [(a, f"1-{first + n}") for n, a in enumerate(alerts)]
    results = await store.apply_alerts(batch, ROUTING)
    changes = []
    for result in results:
        assert not isinstance(result, BaseException), result
        changes += result
    return changes


def hosts(n: int, start: int = 0) -> list[str]:
    return [f"h{i}" for i in range(start, start + n)]


async def storm_of(store: IncidentStore) -> Incident:
    [storm] = [i for i in await store.list(limit=1000) if i.storm is not None]
    return storm


async def storm_entries(store: IncidentStore, incident_id: str) -> list[str | None]:
    story = await store.timeline(incident_id)
    return [e.detail for e in story if e.kind is TimelineKind.STORM]


async def opened_events(store: IncidentStore) -> int:
    group = f"probe-{uuid4().hex}"
    await store.events.ensure_group(group)
    entries = await store.events.read(group, "probe", count=10_000, block=None)
    kinds = [e.model.kind for e in entries if e.model is not None]
    return kinds.count(IncidentEventKind.OPENED)


async def test_groups_past_the_limit_join_one_storm_incident(store: IncidentStore) -> None:
    changes = await apply(store, [alert(host) for host in hosts(10)])

    assert [c.outcome for c in changes] == [Outcome.OPENED] * 4 + [Outcome.JOINED] * 6
    incidents = await store.list(limit=100)
    assert len(incidents) == 4
    own = sorted(i.group_labels["host"] for i in incidents if i.storm is None)
    assert own == ["h0", "h1", "h2"]
    storm = await storm_of(store)
    assert storm.title == "alert storm on infra"
    assert (storm.route, storm.group_key, storm.group_labels) == ("infra", "storm:infra", {})
    assert storm.storm == Storm(limit=LIMIT, groups=7, listed=[f"host={h}" for h in hosts(7, 3)])
    assert (storm.alerts_total, storm.alerts_firing) == (7, 7)
    records, _ = await store.alerts(storm.id)
    assert sorted(r.labels["host"] for r in records) == hosts(7, 3)
    # One entry for the minute, brought up to date by each group the storm took in.
    assert await storm_entries(store, storm.id) == ["10 new groups in a minute over the cap of 3"]
    assert await opened_events(store) == 4


async def test_a_storm_lists_its_first_groups_and_counts_the_rest(store: IncidentStore) -> None:
    await apply(store, [alert(host) for host in hosts(LIMIT + 40)])

    storm = await storm_of(store)
    assert storm.storm is not None
    assert storm.storm.groups == 40
    assert storm.storm.listed == [f"host={h}" for h in hosts(STORM_LISTED, LIMIT)]
    assert storm.alerts_total == 40


async def test_a_storm_takes_the_most_severe_of_what_joined(store: IncidentStore) -> None:
    await apply(store, [alert(host) for host in hosts(LIMIT + 1)])
    assert (await storm_of(store)).severity is Severity.SEV2

    await apply(store, [alert("h9", severity="critical")], first=100)

    assert (await storm_of(store)).severity is Severity.SEV1


async def test_an_absorbed_group_stays_with_the_storm_and_resolves_there(
    store: IncidentStore,
) -> None:
    await apply(store, [alert(host) for host in hosts(LIMIT + 2)])
    storm = await storm_of(store)
    later = T0 + timedelta(minutes=5)

    # h3's later alerts, a new one and a repeat, go where its first went.
    changes = await apply(
        store, [alert("h3", check="cpu", at=later), alert("h3", at=later)], first=100
    )
    assert [(c.outcome, c.incident_id) for c in changes] == [
        (Outcome.JOINED, storm.id),
        (Outcome.REPEATED, storm.id),
    ]
    assert len(await store.list(limit=100)) == LIMIT + 1

    resolutions = [
        alert("h3", status=RESOLVED, at=later),
        alert("h3", check="cpu", status=RESOLVED, at=later),
        alert("h4", status=RESOLVED, at=later),
    ]
    changes = await apply(store, resolutions, first=200)

    assert [c.outcome for c in changes] == [
        Outcome.ALERT_RESOLVED,
        Outcome.ALERT_RESOLVED,
        Outcome.INCIDENT_RESOLVED,
    ]
    resolved = await store.get(storm.id)
    assert resolved is not None
    assert resolved.status is IncidentStatus.RESOLVED
    # Once its storm is over, a group it took in opens an incident of its own again.
    [change] = await apply(store, [alert("h3", at=later + timedelta(minutes=1))], first=300)
    assert change.outcome is Outcome.OPENED
    assert change.incident is not None
    assert change.incident.group_labels == {"host": "h3"}


async def test_after_the_minute_new_groups_open_their_own_incidents(
    store: IncidentStore,
) -> None:
    await apply(store, [alert(host) for host in hosts(LIMIT + 2)])
    storm = await storm_of(store)
    next_minute = T0 + timedelta(minutes=1)

    changes = await apply(
        store, [alert(host, at=next_minute) for host in hosts(LIMIT + 1, 10)], first=100
    )

    assert [c.outcome for c in changes] == [Outcome.OPENED] * LIMIT + [Outcome.JOINED]
    assert changes[-1].incident_id == storm.id
    # Each minute over the cap has its own entry in the storm's story.
    assert await storm_entries(store, storm.id) == [
        "5 new groups in a minute over the cap of 3",
        "4 new groups in a minute over the cap of 3",
    ]


async def test_a_redelivered_batch_changes_no_storm(store: IncidentStore, redis: Redis) -> None:
    alerts = [alert(host) for host in hosts(LIMIT + 3)]
    await apply(store, alerts)
    before = await storm_of(store)

    changes = await apply(store, alerts)

    assert {c.outcome for c in changes} == {Outcome.DUPLICATE}
    assert await storm_of(store) == before
    minute = int(T0.timestamp()) // 60
    assert await redis.hget(keys.storm_minute("infra", minute), "groups") == b"6"


async def test_the_minute_counter_expires(store: IncidentStore, redis: Redis) -> None:
    await apply(store, [alert("h0")])

    minute = int(T0.timestamp()) // 60
    assert 0 < await redis.ttl(keys.storm_minute("infra", minute)) <= 120


async def test_a_route_without_a_limit_never_storms(store: IncidentStore) -> None:
    routing = RoutingConfig(routes=[Route(name="infra", policy="ops", group_by=["host"])])

    results = await store.apply_alerts([(alert(h), None) for h in hosts(50)], routing)

    outcomes = [c.outcome for r in results if not isinstance(r, BaseException) for c in r]
    assert outcomes == [Outcome.OPENED] * 50
    incidents = await store.list(limit=100)
    assert len(incidents) == 50
    assert all(i.storm is None for i in incidents)
