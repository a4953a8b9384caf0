"""Reopening, severity raises and resolving by hand, on real Valkey: what each does to the
incident, its keys and its announcements, alone and with routers racing."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router import keys
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.incidents import Change, Outcome, Resolution
from router.models import Incident, IncidentEvent, IncidentEventKind, IncidentStatus, TimelineKind
from router.store import IncidentStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED
WINDOW = timedelta(minutes=5)
ROUTING = RoutingConfig(
    routes=[
        Route(name="api", policy="api", match={"service": "api"}, group_by=["service"]),
        # Its own window overrides the configuration's.
        Route(name="batch", policy="batch", group_by=["service"], reopen_window=timedelta(hours=1)),
    ],
    severity=[
        SeverityRule(match={"severity": "critical"}, level=Severity.SEV1),
        SeverityRule(match={"severity": "warning"}, level=Severity.SEV3),
    ],
    reopen_window=WINDOW,
)
RETENTION = ROUTING.retention
OPENED, REOPENED = IncidentEventKind.OPENED, IncidentEventKind.REOPENED
RAISED, CLOSED = IncidentEventKind.SEVERITY_RAISED, IncidentEventKind.RESOLVED


def alert(
    key: str,
    status: AlertStatus = FIRING,
    at: datetime = T0,
    *,
    service: str = "api",
    critical: bool = False,
    started: datetime | None = None,
) -> Alert:
    return Alert(
        dedup_key=key,
        status=status,
        summary=f"{key} on {service}",
        labels={"service": service, "severity": "critical" if critical else "warning"},
        integration="prom",
        source="alertmanager",
        starts_at=started,
        received_at=at,
    )


@dataclass
class World:
    store: IncidentStore
    redis: Redis

    async def apply(self, a: Alert) -> Change:
        return await self.store.apply_alert(a, ROUTING)

    async def incident(self, incident_id: str = "1") -> Incident:
        incident = await self.store.get(incident_id)
        assert incident is not None
        return incident

    async def announced(self) -> list[tuple[str, IncidentEventKind, int]]:
        entries = await self.redis.xrange(keys.EVENT_STREAM)
        events = [IncidentEvent.model_validate_json(fields[b"m"]) for _, fields in entries]
        return [(e.incident_id, e.kind, e.epoch) for e in events]

    async def kinds(self, incident_id: str = "1") -> list[TimelineKind]:
        return [event.kind for event in await self.store.timeline(incident_id)]

    async def ttls(self, incident_id: str = "1") -> list[int]:
        names = (keys.incident, keys.incident_alerts, keys.incident_order, keys.incident_timeline)
        return [await self.redis.ttl(name(incident_id)) for name in names]


@pytest.fixture
def world(redis: Redis) -> World:
    return World(IncidentStore(redis), redis)


async def resolved_once(world: World, *, service: str = "api") -> datetime:
    """Incident 1 opened by ``disk`` and resolved by it a minute later; when it resolved."""
    await world.apply(alert("disk", service=service))
    end = T0 + timedelta(minutes=1)
    assert (await world.apply(alert("disk", RESOLVED, end, service=service))).outcome is (
        Outcome.INCIDENT_RESOLVED
    )
    return end


@pytest.mark.parametrize(
    ("key", "service", "after", "outcome", "incident_id"),
    [
        ("disk", "api", timedelta(0), Outcome.REOPENED, "1"),
        ("disk", "api", WINDOW, Outcome.REOPENED, "1"),
        # Another alert of the same group counts too: the group fired again.
        ("cpu", "api", WINDOW, Outcome.REOPENED, "1"),
        ("disk", "api", WINDOW + timedelta(seconds=1), Outcome.OPENED, "2"),
        ("disk", "batch", timedelta(minutes=59), Outcome.REOPENED, "1"),
        ("disk", "batch", timedelta(minutes=61), Outcome.OPENED, "2"),
    ],
)
async def test_a_group_firing_again_within_its_window_reopens_its_incident(
    world: World,
    key: str,
    service: str,
    after: timedelta,
    outcome: Outcome,
    incident_id: str,
) -> None:
    end = await resolved_once(world, service=service)

    change = await world.apply(alert(key, at=end + after, service=service))

    assert (change.outcome, change.incident_id) == (outcome, incident_id)
    incident = await world.incident(incident_id)
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.alerts_firing == 1
    assert await world.redis.get(keys.open_group(incident.group_key)) == incident_id.encode()
    assert await world.redis.exists(keys.recent_group(incident.group_key)) == 0
    assert await world.ttls(incident_id) == [-1, -1, -1, -1]


async def test_a_reopened_incident_is_open_again_as_if_never_resolved(world: World) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    await world.store.acknowledge("1", "alice", T0)
    await world.apply(alert("disk", RESOLVED, T0 + timedelta(minutes=1)))
    await world.apply(alert("cpu", RESOLVED, T0 + timedelta(minutes=2)))
    again = T0 + timedelta(minutes=3)

    change = await world.apply(alert("cpu", at=again))

    incident = await world.incident()
    assert change.incident == incident
    assert incident.status is IncidentStatus.TRIGGERED
    assert (incident.acknowledged_at, incident.acknowledged_by, incident.resolved_at) == (
        None,
        None,
        None,
    )
    assert (incident.alerts_total, incident.alerts_firing, incident.page_epoch) == (2, 1, 1)
    timeline = await world.store.timeline("1")
    assert [(e.kind, e.detail, e.at) for e in timeline[-2:]] == [
        (TimelineKind.REOPENED, "fired again: cpu on api", again),
        (TimelineKind.ALERT_ADDED, "cpu on api", again),
    ]
    assert await world.announced() == [
        ("1", OPENED, 0),
        ("1", IncidentEventKind.ACKNOWLEDGED, 0),
        ("1", CLOSED, 0),
        ("1", REOPENED, 1),
    ]
    # It resolves again like any open incident, and can be reopened again.
    assert (await world.apply(alert("cpu", RESOLVED, again))).outcome is Outcome.INCIDENT_RESOLVED
    assert (await world.apply(alert("disk", at=again))).outcome is Outcome.REOPENED
    assert (await world.incident()).page_epoch == 2


async def test_reopening_with_a_more_severe_alert_is_one_new_paging_run(world: World) -> None:
    end = await resolved_once(world)

    await world.apply(alert("cpu", at=end, critical=True))

    incident = await world.incident()
    assert (incident.severity, incident.page_epoch) == ("SEV1", 1)
    assert (await world.kinds())[-3:] == [
        TimelineKind.REOPENED,
        TimelineKind.SEVERITY_RAISED,
        TimelineKind.ALERT_ADDED,
    ]
    assert (await world.announced())[-1] == ("1", REOPENED, 1)


async def test_a_resolution_that_overtook_its_firing_does_not_reopen(world: World) -> None:
    episode = T0 - timedelta(minutes=5)
    await world.apply(alert("disk", started=episode))
    await world.apply(alert("disk", RESOLVED, T0 + timedelta(minutes=1), started=episode))

    late = await world.apply(alert("disk", at=T0 + timedelta(minutes=2), started=episode))

    assert late.outcome is Outcome.STALE
    assert (await world.incident()).status is IncidentStatus.RESOLVED
    assert [kind for _, kind, _ in await world.announced()] == [OPENED, CLOSED]


async def test_a_resolution_of_a_recently_resolved_group_changes_nothing(world: World) -> None:
    end = await resolved_once(world)
    before = (await world.incident(), await world.kinds())

    change = await world.apply(alert("disk", RESOLVED, end + timedelta(seconds=30)))

    assert change == Change(Outcome.IGNORED)
    assert (await world.incident(), await world.kinds()) == before


async def test_a_raise_on_an_acknowledged_incident_keeps_it_acknowledged(world: World) -> None:
    await world.apply(alert("disk"))
    await world.store.acknowledge("1", "alice", T0)

    await world.apply(alert("cpu", critical=True))
    await world.apply(alert("mem", critical=True))  # as severe: no second raise

    incident = await world.incident()
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")
    assert (incident.severity, incident.page_epoch) == ("SEV1", 1)
    assert [kind for _, kind, _ in await world.announced()] == [
        OPENED,
        IncidentEventKind.ACKNOWLEDGED,
        RAISED,
    ]


async def test_resolving_by_hand_ends_the_incident_whatever_its_alerts_say(
    world: World,
) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    await world.apply(alert("mem", critical=True))  # a raise: the run is epoch 1
    at = T0 + timedelta(minutes=3)

    outcome, head = await world.store.resolve("1", "alice", at, retention=RETENTION)

    incident = await world.incident()
    assert (outcome, head) == (Resolution.RESOLVED, incident)
    assert incident.status is IncidentStatus.RESOLVED
    assert (incident.resolved_at, incident.resolved_by) == (at, "alice")
    assert incident.alerts_firing == 3  # what the alerts say is kept as it is
    last = (await world.store.timeline("1"))[-1]
    assert (last.kind, last.detail, last.person, last.at) == (
        TimelineKind.RESOLVED,
        "resolved by alice",
        "alice",
        at,
    )
    assert (await world.announced())[-1] == ("1", CLOSED, 1)
    assert all(
        RETENTION.total_seconds() - 5 <= ttl <= RETENTION.total_seconds()
        for ttl in (await world.ttls())
    )
    assert await world.redis.exists(keys.open_group(incident.group_key)) == 0


async def test_resolving_by_hand_again_says_so_and_changes_nothing(world: World) -> None:
    await world.apply(alert("disk"))
    await world.store.acknowledge("1", "bob", T0)
    await world.store.resolve("1", "alice", T0, retention=RETENTION)
    before = (await world.incident(), await world.kinds(), await world.announced())

    outcome, head = await world.store.resolve("1", "carol", T0, retention=RETENTION)

    assert (outcome, head) == (Resolution.ALREADY_RESOLVED, before[0])
    assert (await world.incident(), await world.kinds(), await world.announced()) == before
    assert before[0].resolved_by == "alice"


async def test_resolving_an_incident_resolved_by_its_alerts_changes_nothing(world: World) -> None:
    await resolved_once(world)

    outcome, head = await world.store.resolve("1", "alice", T0, retention=RETENTION)

    assert outcome is Resolution.ALREADY_RESOLVED
    assert head is not None
    assert head.resolved_by is None


async def test_resolving_an_unknown_incident_says_so(world: World) -> None:
    assert await world.store.resolve("404", "alice", T0, retention=RETENTION) == (
        Resolution.NOT_FOUND,
        None,
    )
    assert await world.announced() == []


async def test_resolving_by_hand_needs_a_name(world: World) -> None:
    await world.apply(alert("disk"))
    with pytest.raises(ValueError, match="say who resolves the incident"):
        await world.store.resolve("1", " ", T0, retention=RETENTION)
    assert (await world.incident()).status is IncidentStatus.TRIGGERED


async def test_after_resolving_by_hand_a_firing_alert_opens_a_new_incident(world: World) -> None:
    await world.apply(alert("disk"))
    await world.store.resolve("1", "alice", T0, retention=RETENTION)

    # Well within the reopen window: whoever resolved it said it is over.
    change = await world.apply(alert("disk", at=T0 + timedelta(seconds=10)))

    assert (change.outcome, change.incident_id) == (Outcome.OPENED, "2")
    assert (await world.incident("1")).status is IncidentStatus.RESOLVED
    fresh = await world.incident("2")
    assert (fresh.alerts_total, fresh.alerts_firing, fresh.page_epoch) == (1, 1, 0)
    # Its resolution then resolves the new incident, and nothing reopens the old one.
    gone = await world.apply(alert("disk", RESOLVED, T0 + timedelta(seconds=20)))
    assert (gone.outcome, gone.incident_id) == (Outcome.INCIDENT_RESOLVED, "2")
    assert (await world.apply(alert("disk", at=T0 + timedelta(seconds=30)))).incident_id == "2"


@pytest.fixture
async def stores(
    valkey_url: str, redis: Redis
) -> AsyncIterator[Callable[[int], list[IncidentStore]]]:
    """Stores on clients of their own, so routers really race. (Depends on ``redis`` so the
    database is flushed first.)"""
    clients: list[Redis] = []

    def make(n: int) -> list[IncidentStore]:
        fresh = [Redis.from_url(valkey_url, single_connection_client=True) for _ in range(n)]
        clients.extend(fresh)
        return [IncidentStore(client) for client in fresh]

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()


async def test_routers_racing_to_reopen_reopen_once(
    world: World, stores: Callable[[int], list[IncidentStore]]
) -> None:
    end = await resolved_once(world)
    n = 20

    changes = await asyncio.gather(
        *(
            store.apply_alert(alert(f"a{i}", at=end + timedelta(seconds=i)), ROUTING)
            for i, store in enumerate(stores(n))
        )
    )

    outcomes = [change.outcome for change in changes]
    assert (outcomes.count(Outcome.REOPENED), outcomes.count(Outcome.JOINED)) == (1, n - 1)
    assert {change.incident_id for change in changes} == {"1"}
    incident = await world.incident()
    assert (incident.alerts_firing, incident.alerts_total, incident.page_epoch) == (n, n + 1, 1)
    assert [kind for _, kind, _ in await world.announced()] == [OPENED, CLOSED, REOPENED]
    assert (await world.kinds()).count(TimelineKind.REOPENED) == 1


async def test_routers_racing_to_raise_raise_once(
    world: World, stores: Callable[[int], list[IncidentStore]]
) -> None:
    await world.apply(alert("disk"))
    n = 20

    await asyncio.gather(
        *(
            store.apply_alert(alert(f"a{i}", critical=True), ROUTING)
            for i, store in enumerate(stores(n))
        )
    )

    incident = await world.incident()
    assert (incident.severity, incident.page_epoch, incident.alerts_firing) == ("SEV1", 1, n + 1)
    assert [kind for _, kind, _ in await world.announced()] == [OPENED, RAISED]
