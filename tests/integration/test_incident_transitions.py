"""What an alert or an acknowledgement does to an incident, on real Valkey: every path of
``apply_alert.lua`` and of acknowledging, and the invariants over any sequence of alerts."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router import keys
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.incidents import Change, Outcome
from router.models import (
    AlertRecord,
    Incident,
    IncidentEvent,
    IncidentEventKind,
    IncidentStatus,
    TimelineKind,
)
from router.script_args import TIMELINE_ALERT_EVENTS
from router.states import IllegalTransition
from router.store import IncidentStore
from tocsin.store import connect

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED

ROUTING = RoutingConfig(
    routes=[Route(name="api", policy="api-oncall", group_by=["service"])],
    severity=[
        SeverityRule(match={"severity": "critical"}, level=Severity.SEV1),
        SeverityRule(match={"severity": "warning"}, level=Severity.SEV3),
    ],
)


def alert(
    dedup_key: str,
    status: AlertStatus = FIRING,
    at: datetime = T0,
    severity: str = "warning",
    summary: str | None = None,
) -> Alert:
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=summary or f"{dedup_key} is broken",
        labels={"service": "api", "severity": severity},
        annotations={"runbook": "https://runbooks.example/api"},
        integration="prom",
        source="alertmanager",
        generator_url="https://prom.example/graph",
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

    async def records(self, incident_id: str = "1") -> dict[str, AlertRecord]:
        records, _ = await self.store.alerts(incident_id, limit=1000)
        return {record.dedup_key: record for record in records}

    async def kinds(self, incident_id: str = "1") -> list[TimelineKind]:
        return [event.kind for event in await self.store.timeline(incident_id)]

    async def events(self) -> list[IncidentEventKind]:
        entries = await self.redis.xrange(keys.EVENT_STREAM)
        return [IncidentEvent.model_validate_json(f[b"m"]).kind for _, f in entries]


@pytest.fixture
def world(redis: Redis) -> World:
    return World(IncidentStore(redis), redis)


async def test_open_incident(world: World) -> None:
    a = alert("disk", summary="disk full on api-1")
    change = await world.apply(a)

    assert change.outcome is Outcome.OPENED
    assert await world.events() == [IncidentEventKind.OPENED]
    incident = change.incident
    assert incident == await world.incident()
    assert incident.id == "1"
    assert incident.title == "disk full on api-1"
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.severity is Severity.SEV3
    assert (incident.route, incident.policy) == ("api", "api-oncall")
    assert incident.group_labels == {"service": "api"}
    assert incident.created_at == T0
    assert incident.acknowledged_at is None
    assert incident.resolved_at is None
    assert (incident.alerts_total, incident.alerts_firing) == (1, 1)
    record = (await world.records())["disk"]
    assert record.status is FIRING
    assert record.count == 1
    assert record.first_seen == record.last_seen == T0
    assert record.resolved_at is None
    assert record.severity is Severity.SEV3
    assert record.labels == a.labels
    assert record.annotations == a.annotations
    assert record.generator_url == a.generator_url
    assert await world.kinds() == [TimelineKind.CREATED, TimelineKind.ALERT_ADDED]
    assert all(event.at == T0 for event in await world.store.timeline("1"))


async def test_a_repeat_bumps_count_and_last_seen_without_an_event(world: World) -> None:
    await world.apply(alert("disk"))
    timeline_before = await world.kinds()

    await world.apply(alert("disk", at=T0 + timedelta(minutes=1)))
    change = await world.apply(alert("disk", at=T0 + timedelta(minutes=2)))

    assert change.outcome is Outcome.REPEATED
    assert change.incident is None
    record = (await world.records())["disk"]
    assert record.count == 3
    assert record.first_seen == T0
    assert record.last_seen == T0 + timedelta(minutes=2)
    assert await world.kinds() == timeline_before
    assert await world.events() == [IncidentEventKind.OPENED]


async def test_a_more_severe_alert_joins_raises_severity_and_starts_a_new_paging_epoch(
    world: World,
) -> None:
    await world.apply(alert("disk", severity="warning"))
    later = T0 + timedelta(minutes=1)

    change = await world.apply(
        alert("cpu", at=later, severity="critical", summary="cpu melting on api-1")
    )

    assert change.outcome is Outcome.JOINED
    incident = await world.incident()
    assert change.incident == incident
    assert incident.severity is Severity.SEV1
    assert (incident.alerts_total, incident.alerts_firing) == (2, 2)
    records = await world.records()
    assert set(records) == {"disk", "cpu"}
    assert records["cpu"].first_seen == later
    assert records["cpu"].severity is Severity.SEV1
    timeline = await world.store.timeline("1")
    assert [(e.kind, e.detail) for e in timeline[-2:]] == [
        (TimelineKind.SEVERITY_RAISED, "severity raised from SEV3 to SEV1 by cpu melting on api-1"),
        (TimelineKind.ALERT_ADDED, "cpu melting on api-1"),
    ]
    assert incident.title == "disk is broken"
    assert incident.page_epoch == 1
    entries = await world.redis.xrange(keys.EVENT_STREAM)
    announced = [IncidentEvent.model_validate_json(fields[b"m"]) for _, fields in entries]
    assert [(e.kind, e.epoch, e.at) for e in announced] == [
        (IncidentEventKind.OPENED, 0, T0),
        (IncidentEventKind.SEVERITY_RAISED, 1, later),
    ]


async def test_a_less_severe_alert_does_not_lower_severity(world: World) -> None:
    await world.apply(alert("disk", severity="critical"))
    await world.apply(alert("cpu", severity="warning"))
    await world.apply(alert("mem", severity="unknown"))  # SEV2 by default
    incident = await world.incident()
    assert (incident.severity, incident.page_epoch) == (Severity.SEV1, 0)
    assert await world.events() == [IncidentEventKind.OPENED]


async def test_resolving_one_alert_of_several_resolves_only_that_alert(world: World) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    later = T0 + timedelta(minutes=5)

    change = await world.apply(alert("disk", RESOLVED, at=later))

    assert change.outcome is Outcome.ALERT_RESOLVED
    incident = await world.incident()
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.resolved_at is None
    assert (incident.alerts_total, incident.alerts_firing) == (2, 1)
    records = await world.records()
    assert records["disk"].status is RESOLVED
    assert records["disk"].resolved_at == records["disk"].last_seen == later
    assert records["cpu"].status is FIRING
    assert (await world.kinds())[-1] is TimelineKind.ALERT_RESOLVED
    # Firing alerts are read first.
    assert list(await world.records()) == ["cpu", "disk"]


@pytest.mark.parametrize("acknowledged_first", [False, True])
async def test_resolving_the_last_alert_resolves_the_incident(
    world: World, redis: Redis, acknowledged_first: bool
) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    if acknowledged_first:
        await world.store.acknowledge("1", "alice", T0)
    await world.apply(alert("disk", RESOLVED, at=T0 + timedelta(minutes=1)))
    end = T0 + timedelta(minutes=2)

    change = await world.apply(alert("cpu", RESOLVED, at=end))

    assert change.outcome is Outcome.INCIDENT_RESOLVED
    incident = await world.incident()
    assert change.incident == incident
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolved_at == end
    assert incident.alerts_firing == 0
    assert all(r.status is RESOLVED for r in (await world.records()).values())
    assert (await world.kinds())[-2:] == [TimelineKind.ALERT_RESOLVED, TimelineKind.RESOLVED]
    assert (await world.events())[-1] is IncidentEventKind.RESOLVED
    # Kept for the retention, then gone, alerts and story too.
    retention = ROUTING.retention.total_seconds()
    for key in (
        keys.incident("1"),
        keys.incident_alerts("1"),
        keys.incident_order("1"),
        keys.incident_timeline("1"),
    ):
        assert retention - 5 <= await redis.ttl(key) <= retention


async def test_a_resolution_for_an_unknown_alert_is_ignored(world: World) -> None:
    await world.apply(alert("disk"))
    before = (await world.incident(), await world.records(), await world.kinds())

    change = await world.apply(alert("nobody-knows", RESOLVED))

    assert change == Change(Outcome.IGNORED)
    assert (await world.incident(), await world.records(), await world.kinds()) == before


async def test_a_repeated_resolution_is_ignored(world: World) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    await world.apply(alert("disk", RESOLVED))
    before = (await world.incident(), await world.records(), await world.kinds())

    change = await world.apply(alert("disk", RESOLVED, at=T0 + timedelta(hours=1)))

    assert change == Change(Outcome.IGNORED)
    assert (await world.incident(), await world.records(), await world.kinds()) == before


async def test_a_resolved_alert_firing_again_rejoins_the_open_incident(world: World) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    await world.apply(alert("disk", RESOLVED, at=T0 + timedelta(minutes=1)))
    refire = T0 + timedelta(minutes=2)

    change = await world.apply(alert("disk", at=refire))

    assert change.outcome is Outcome.JOINED
    record = (await world.records())["disk"]
    assert record.status is FIRING
    assert record.resolved_at is None
    assert record.count == 2
    assert record.first_seen == T0
    assert record.last_seen == refire
    assert (await world.incident()).status is IncidentStatus.TRIGGERED
    assert (await world.kinds())[-1] is TimelineKind.ALERT_ADDED

    # It now has to be resolved again before the incident can close.
    assert (await world.apply(alert("cpu", RESOLVED))).outcome is Outcome.ALERT_RESOLVED
    assert (await world.apply(alert("disk", RESOLVED))).outcome is Outcome.INCIDENT_RESOLVED


async def test_acknowledge_records_who_and_when_once(world: World) -> None:
    await world.apply(alert("disk"))
    first = T0 + timedelta(minutes=3)

    await world.store.acknowledge("1", "alice", first)
    incident = await world.store.acknowledge("1", "bob", first + timedelta(minutes=1))

    assert incident == await world.incident()
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("alice", first)
    acks = [e for e in await world.store.timeline("1") if e.kind is TimelineKind.ACKNOWLEDGED]
    assert [(e.person, e.at) for e in acks] == [("alice", first)]
    assert await world.events() == [IncidentEventKind.OPENED, IncidentEventKind.ACKNOWLEDGED]


async def test_acknowledging_a_resolved_incident_raises_and_changes_nothing(
    world: World,
) -> None:
    await world.apply(alert("disk"))
    await world.apply(alert("disk", RESOLVED))
    before = (await world.incident(), await world.kinds())

    with pytest.raises(IllegalTransition):
        await world.store.acknowledge("1", "alice", T0 + timedelta(minutes=1))

    assert (await world.incident(), await world.kinds()) == before


async def test_an_acknowledged_incident_still_takes_new_alerts(world: World) -> None:
    await world.apply(alert("disk"))
    await world.store.acknowledge("1", "alice", T0)
    change = await world.apply(alert("cpu", severity="critical"))
    assert change.outcome is Outcome.JOINED
    incident = await world.incident()
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert incident.severity is Severity.SEV1


async def test_last_seen_never_moves_backwards_when_alerts_arrive_out_of_order(
    world: World,
) -> None:
    # Two routers share the stream, so a group's alerts can be applied out of order.
    await world.apply(alert("disk"))
    await world.apply(alert("cpu"))
    await world.apply(alert("disk", at=T0 + timedelta(minutes=5)))
    await world.apply(alert("disk", at=T0 + timedelta(minutes=3)))
    record = (await world.records())["disk"]
    assert (record.last_seen, record.count) == (T0 + timedelta(minutes=5), 3)

    await world.apply(alert("disk", RESOLVED, at=T0 + timedelta(minutes=6)))
    await world.apply(alert("disk", at=T0 + timedelta(minutes=4)))
    assert (await world.records())["disk"].last_seen == T0 + timedelta(minutes=6)


async def test_a_storm_lists_its_first_alert_events_and_counts_the_rest(world: World) -> None:
    storm = TIMELINE_ALERT_EVENTS + 50
    for n in range(storm):
        await world.apply(alert(f"node-{n}", at=T0 + timedelta(seconds=n)))

    incident = await world.incident()
    assert (incident.alerts_total, incident.alerts_firing) == (storm, storm)
    assert (incident.alert_events, incident.alert_events_omitted) == (TIMELINE_ALERT_EVENTS, 50)
    assert len(await world.kinds()) == 1 + TIMELINE_ALERT_EVENTS
    # Pages of alerts, newest first, follow one another to the end.
    seen: list[str] = []
    cursor: int | None = 0
    while cursor is not None:
        page, cursor = await world.store.alerts("1", limit=40, cursor=cursor)
        seen += [record.dedup_key for record in page]
    assert seen == [f"node-{n}" for n in reversed(range(storm))]


KEYS = ["a", "b", "c"]
SEVERITY_OF = {"a": "critical", "b": "warning", "c": "other"}
LEVEL_OF = {"critical": Severity.SEV1, "warning": Severity.SEV3, "other": Severity.SEV2}


def test_invariants_over_any_sequence_of_alerts(valkey_url: str) -> None:
    """Until it resolves: it is resolved exactly when no alert fires, it announces only its
    opening, each raise of its severity (each a new paging epoch) and its resolution, each
    record counts its firings and the severity is the worst seen. (Its own event loop per
    example: hypothesis calls it synchronously.)"""

    async def scenario(first: str, steps: list[tuple[str, bool]]) -> None:
        redis = connect(valkey_url)
        try:
            await redis.flushall()
            world = World(IncidentStore(redis), redis)
            await world.apply(alert(first, severity=SEVERITY_OF[first]))
            firings = {first: 1}
            worst = LEVEL_OF[SEVERITY_OF[first]]
            raised: list[IncidentEventKind] = []
            for minute, (key, firing) in enumerate(steps, start=1):
                at = T0 + timedelta(minutes=minute)
                change = await world.apply(
                    alert(key, FIRING if firing else RESOLVED, at=at, severity=SEVERITY_OF[key])
                )
                if firing:
                    firings[key] = firings.get(key, 0) + 1
                    assert change.outcome in (Outcome.JOINED, Outcome.REPEATED)
                records = await world.records()
                assert {k: r.count for k, r in records.items()} == firings
                incident = await world.incident()
                seen_worst = min(LEVEL_OF[SEVERITY_OF[k]] for k in firings)
                if seen_worst < worst:
                    raised.append(IncidentEventKind.SEVERITY_RAISED)
                    worst = seen_worst
                assert (incident.severity, incident.page_epoch) == (worst, len(raised))
                firing_now = sum(r.status is FIRING for r in records.values())
                assert incident.alerts_firing == firing_now
                assert (incident.status is IncidentStatus.RESOLVED) is (firing_now == 0)
                events = await world.events()
                if change.outcome is Outcome.INCIDENT_RESOLVED:
                    assert events == [IncidentEventKind.OPENED, *raised, IncidentEventKind.RESOLVED]
                    assert incident.resolved_at == at
                    return  # whatever comes next reopens it, or opens a new incident
                assert events == [IncidentEventKind.OPENED, *raised]
        finally:
            await redis.aclose()

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(KEYS), st.lists(st.tuples(st.sampled_from(KEYS), st.booleans())))
    def check(first: str, steps: list[tuple[str, bool]]) -> None:
        asyncio.run(scenario(first, steps))

    check()


async def test_a_truncated_notification_never_gives_a_false_all_clear(world: World) -> None:
    # Alertmanager with max_alerts: 2 and 5 alerts firing sends 2, and truncatedAlerts: 3.
    def shown(key: str, status: AlertStatus, not_shown: int) -> Alert:
        return alert(key, status).model_copy(update={"sender_not_shown": not_shown})

    await world.apply(shown("a", FIRING, 3))
    await world.apply(shown("b", FIRING, 3))
    assert (await world.incident()).alerts_not_shown == 3

    # The two it was shown resolve: three may still fire, so the incident stays open.
    await world.apply(shown("a", RESOLVED, 3))
    change = await world.apply(shown("b", RESOLVED, 3))
    assert change.outcome is Outcome.ALERT_RESOLVED
    incident = await world.incident()
    assert (incident.status, incident.alerts_firing) == (IncidentStatus.TRIGGERED, 0)
    assert await world.events() == [IncidentEventKind.OPENED]

    # A notification that leaves nothing out and shows them resolved closes it.
    change = await world.apply(shown("b", RESOLVED, 0))
    assert change.outcome is Outcome.INCIDENT_RESOLVED
    assert (await world.events())[-1] is IncidentEventKind.RESOLVED


async def test_a_notification_that_shows_everything_lets_the_last_alert_resolve(
    world: World,
) -> None:
    def shown(key: str, status: AlertStatus, not_shown: int) -> Alert:
        return alert(key, status).model_copy(update={"sender_not_shown": not_shown})

    await world.apply(shown("a", FIRING, 1))
    await world.apply(shown("b", FIRING, 0))  # the group fits again: nothing left out
    await world.apply(shown("a", RESOLVED, 0))
    assert (await world.apply(shown("b", RESOLVED, 0))).outcome is Outcome.INCIDENT_RESOLVED


async def test_entries_applied_out_of_order_count_once_each_and_never_turn_back_state(
    world: World,
) -> None:
    # Two routers share the stream: one alert's entries can be applied in any order.
    order = [3, 0, 7, 1, 2, 9, 4, 8, 5, 6]
    for n in order:
        await world.store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{n}")
    assert (await world.records())["disk"].count == len(order)

    # Delivered again (a router crashed before acknowledging): nothing changes.
    for n in reversed(order):
        change = await world.store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{n}")
        assert change.outcome is Outcome.DUPLICATE
    assert (await world.records())["disk"].count == len(order)

    # A resolution, then a firing that was sent before it but applied after: stale news.
    await world.apply(alert("cpu"))  # keeps the incident open
    await world.store.apply_alert(alert("disk", RESOLVED), ROUTING, delivery_id="1-20")
    late = await world.store.apply_alert(alert("disk"), ROUTING, delivery_id="1-15")
    assert late.outcome is Outcome.STALE
    assert (await world.records())["disk"].status is RESOLVED


async def test_a_crashed_batch_of_many_repeats_is_recognised_when_redelivered(
    world: World,
) -> None:
    for n in range(200):
        await world.store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{n}")
    redelivered = [
        (await world.store.apply_alert(alert("disk"), ROUTING, delivery_id=f"1-{n}")).outcome
        for n in range(100, 200)
    ]
    assert set(redelivered) == {Outcome.DUPLICATE}
    assert (await world.records())["disk"].count == 200
