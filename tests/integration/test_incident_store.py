"""The incident store against a real Valkey: transactions, events, idempotence."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ingest.models import Alert, AlertStatus
from router import keys
from router.config import Route, RoutingConfig
from router.incidents import Outcome
from router.models import (
    IncidentEvent,
    IncidentEventKind,
    IncidentStatus,
    TimelineEvent,
    TimelineKind,
)
from router.store import ALERTS_PER_CALL, IllegalTransition, IncidentNotFound, IncidentStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED
OPENED, ACKED, CLOSED = (
    IncidentEventKind.OPENED,
    IncidentEventKind.ACKNOWLEDGED,
    IncidentEventKind.RESOLVED,
)

ROUTING = RoutingConfig(
    routes=[
        Route(name="api", match={"team": "api"}, policy="api-oncall", group_by=["service"]),
    ]
)


def alert(
    dedup_key: str,
    status: AlertStatus = FIRING,
    at: datetime = T0,
    service: str = "checkout",
    team: str = "api",
) -> Alert:
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=f"{dedup_key} on {service}",
        labels={"team": team, "service": service},
        integration="prom",
        source="alertmanager",
        received_at=at,
    )


async def announced(store: IncidentStore) -> list[tuple[str, IncidentEventKind, datetime]]:
    """Every event on the stream, read as a fresh consumer group would (the notifier's view)."""
    group = f"probe-{uuid4().hex}"
    await store.events.ensure_group(group)
    entries = await store.events.read(group, "probe", count=10_000, block=None)
    events: list[IncidentEvent] = []
    for entry in entries:
        assert entry.model is not None, entry.error
        events.append(entry.model)
    return [(e.incident_id, e.kind, e.at) for e in events]


@pytest.fixture
def store(redis: Redis) -> IncidentStore:
    return IncidentStore(redis)


async def test_the_first_alert_opens_one_incident_and_announces_it(store: IncidentStore) -> None:
    change = await store.apply_alert(alert("disk"), ROUTING)

    assert change.outcome is Outcome.OPENED
    assert change.incident is not None
    incident_id = change.incident.id
    stored = await store.get(incident_id)
    assert stored == change.incident
    assert stored.status is IncidentStatus.TRIGGERED
    assert stored.route == "api"
    assert stored.policy == "api-oncall"
    assert stored.group_labels == {"service": "checkout"}
    assert [i.id for i in await store.list()] == [incident_id]
    assert await announced(store) == [(incident_id, OPENED, T0)]


async def test_a_hundred_repeats_are_one_incident_and_one_event(store: IncidentStore) -> None:
    outcomes = [
        (await store.apply_alert(alert("disk", at=T0 + timedelta(seconds=i)), ROUTING)).outcome
        for i in range(100)
    ]

    assert outcomes == [Outcome.OPENED] + [Outcome.REPEATED] * 99
    incidents = await store.list()
    assert len(incidents) == 1
    [record], _ = await store.alerts(incidents[0].id)
    assert record.count == 100
    assert record.first_seen == T0
    assert record.last_seen == T0 + timedelta(seconds=99)
    assert [kind for _, kind, _ in await announced(store)] == [OPENED]


async def test_unrouted_alerts_are_not_stored(store: IncidentStore, redis: Redis) -> None:
    change = await store.apply_alert(alert("disk", team="web"), ROUTING, delivery_id="1-0")
    assert change.outcome is Outcome.UNROUTED
    assert await store.list() == []
    assert await redis.dbsize() == 0


async def test_a_resolution_without_an_open_incident_is_ignored(
    store: IncidentStore, redis: Redis
) -> None:
    change = await store.apply_alert(alert("disk", RESOLVED), ROUTING, delivery_id="1-0")
    assert change.outcome is Outcome.IGNORED
    assert change.incident is None
    assert await store.list() == []
    assert await announced(store) == []


async def test_resolving_every_alert_closes_the_group(store: IncidentStore) -> None:
    first = await store.apply_alert(alert("disk"), ROUTING)
    await store.apply_alert(alert("cpu", at=T0 + timedelta(minutes=1)), ROUTING)
    assert first.incident is not None
    old_id = first.incident.id

    partly = await store.apply_alert(alert("disk", RESOLVED, T0 + timedelta(minutes=2)), ROUTING)
    assert partly.outcome is Outcome.ALERT_RESOLVED
    done = await store.apply_alert(alert("cpu", RESOLVED, T0 + timedelta(minutes=3)), ROUTING)
    assert done.outcome is Outcome.INCIDENT_RESOLVED

    old = await store.get(old_id)
    assert old is not None
    assert old.status is IncidentStatus.RESOLVED
    assert old.resolved_at == T0 + timedelta(minutes=3)
    assert await announced(store) == [
        (old_id, OPENED, T0),
        (old_id, CLOSED, T0 + timedelta(minutes=3)),
    ]

    # A late resolution for the closed group changes nothing.
    late = await store.apply_alert(alert("cpu", RESOLVED, T0 + timedelta(minutes=4)), ROUTING)
    assert late.outcome is Outcome.IGNORED

    again = await store.apply_alert(alert("disk", at=T0 + timedelta(minutes=10)), ROUTING)
    assert again.outcome is Outcome.OPENED
    assert again.incident is not None
    new_id = again.incident.id
    assert new_id != old_id
    [record], _ = await store.alerts(new_id)
    assert (record.dedup_key, record.count) == ("disk", 1)
    assert [i.id for i in await store.list()] == [new_id, old_id]
    assert (await store.get(old_id)) == old
    assert (await announced(store))[-1] == (new_id, OPENED, T0 + timedelta(minutes=10))


async def test_a_redelivered_entry_is_a_duplicate_and_changes_nothing(
    store: IncidentStore, redis: Redis
) -> None:
    opened = await store.apply_alert(alert("disk"), ROUTING, delivery_id="1-0")
    assert opened.incident is not None
    repeated = await store.apply_alert(alert("disk"), ROUTING, delivery_id="1-1")
    assert repeated.outcome is Outcome.REPEATED
    snapshot = await store.get(opened.incident.id)
    events = await announced(store)

    for delivery_id in ("1-0", "1-1"):
        change = await store.apply_alert(alert("disk"), ROUTING, delivery_id=delivery_id)
        assert change.outcome is Outcome.DUPLICATE
        assert change.incident is None

    assert await store.get(opened.incident.id) == snapshot
    [record], _ = await store.alerts(opened.incident.id)
    assert record.count == 2
    assert await announced(store) == events
    # Nothing is kept per entry: the alert's record knows the last entry applied to it.
    assert not [key async for key in redis.scan_iter(match="*applied*")]


async def test_acknowledge_records_who_and_when_and_announces_once(
    store: IncidentStore,
) -> None:
    opened = await store.apply_alert(alert("disk"), ROUTING)
    assert opened.incident is not None
    incident_id = opened.incident.id
    at = T0 + timedelta(minutes=4)

    acked = await store.acknowledge(incident_id, "alice", at)
    again = await store.acknowledge(incident_id, "bob", at + timedelta(minutes=1))

    for incident in (acked, again, await store.get(incident_id)):
        assert incident is not None
        assert incident.status is IncidentStatus.ACKNOWLEDGED
        assert incident.acknowledged_by == "alice"
        assert incident.acknowledged_at == at
    assert await announced(store) == [(incident_id, OPENED, T0), (incident_id, ACKED, at)]


async def test_acknowledging_a_resolved_incident_raises(store: IncidentStore) -> None:
    opened = await store.apply_alert(alert("disk"), ROUTING)
    await store.apply_alert(alert("disk", RESOLVED), ROUTING)
    assert opened.incident is not None
    before = await store.get(opened.incident.id)

    with pytest.raises(IllegalTransition):
        await store.acknowledge(opened.incident.id, "alice", T0 + timedelta(minutes=1))

    assert await store.get(opened.incident.id) == before
    assert [kind for _, kind, _ in await announced(store)] == [OPENED, CLOSED]


async def test_acknowledging_an_unknown_incident_raises(store: IncidentStore) -> None:
    with pytest.raises(IncidentNotFound) as raised:
        await store.acknowledge("404", "alice", T0)
    assert raised.value.incident_id == "404"
    assert await announced(store) == []


async def test_get_unknown_is_none(store: IncidentStore) -> None:
    assert await store.get("404") is None


async def test_list_is_newest_first_and_pages(store: IncidentStore) -> None:
    ids = []
    for minute in range(5):
        change = await store.apply_alert(
            alert("disk", at=T0 + timedelta(minutes=minute), service=f"svc-{minute}"), ROUTING
        )
        assert change.incident is not None
        ids.append(change.incident.id)
    newest_first = list(reversed(ids))

    assert [i.id for i in await store.list()] == newest_first
    assert [i.id for i in await store.list(limit=2)] == newest_first[:2]
    assert [i.id for i in await store.list(limit=2, offset=2)] == newest_first[2:4]
    assert [i.id for i in await store.list(limit=2, offset=4)] == newest_first[4:]
    assert await store.list(offset=5) == []


async def test_list_with_a_zero_limit_is_empty(store: IncidentStore) -> None:
    await store.apply_alert(alert("disk"), ROUTING)
    assert await store.list(limit=0) == []


async def test_incidents_opened_in_the_same_millisecond_list_newest_first(
    store: IncidentStore,
) -> None:
    # One webhook carries many alerts, all received at the same instant.
    ids = []
    for n in range(12):
        change = await store.apply_alert(alert("disk", service=f"svc-{n}"), ROUTING)
        assert change.incident is not None
        ids.append(change.incident.id)

    assert [i.id for i in await store.list()] == list(reversed(ids))
    assert [i.id for i in await store.list(limit=3)] == list(reversed(ids))[:3]


async def test_add_timeline_appends(store: IncidentStore) -> None:
    opened = await store.apply_alert(alert("disk"), ROUTING)
    assert opened.incident is not None
    incident_id = opened.incident.id
    before = await store.timeline(incident_id)
    paged = TimelineEvent(
        at=T0 + timedelta(seconds=5),
        kind=TimelineKind.PAGED,
        person="alice",
        channel="sms",
        level=1,
        round=0,
    )
    escalated = TimelineEvent(at=T0 + timedelta(minutes=5), kind=TimelineKind.ESCALATED, level=2)

    await store.add_timeline(incident_id, [paged])
    await store.add_timeline(incident_id, [escalated])

    assert await store.timeline(incident_id) == [*before, paged, escalated]
    assert await store.get(incident_id) == opened.incident
    assert [kind for _, kind, _ in await announced(store)] == [OPENED]


async def test_add_timeline_to_an_unknown_incident_raises(store: IncidentStore) -> None:
    event = TimelineEvent(at=T0, kind=TimelineKind.PAGED)
    with pytest.raises(IncidentNotFound):
        await store.add_timeline("404", [event])


async def test_list_rejects_a_negative_offset(store: IncidentStore) -> None:
    with pytest.raises(ValueError, match="offset"):
        await store.list(offset=-1)


async def test_a_store_that_lost_its_scripts_gets_them_again(
    store: IncidentStore, redis: Redis
) -> None:
    await store.apply_alert(alert("disk"), ROUTING)
    await redis.script_flush()  # as after a restart

    change = await store.apply_alert(alert("disk", at=T0 + timedelta(minutes=1)), ROUTING)

    assert change.outcome is Outcome.REPEATED


async def test_an_alert_that_fails_in_a_batch_fails_alone(redis: Redis) -> None:
    """A batch spans several script calls; inside one, an alert whose incident cannot be read
    gets its error in its place while those around it, before and after, are applied."""
    store = IncidentStore(redis)
    broken = await store.apply_alert(alert("broken", service="broken"), ROUTING)
    assert broken.incident_id is not None
    await redis.set(keys.incident(broken.incident_id), "{not json")
    batch = [(alert(f"a{i}", service=f"svc{i}"), f"1-{i}") for i in range(ALERTS_PER_CALL * 2)]
    batch.insert(ALERTS_PER_CALL + 3, (alert("again", service="broken"), "2-0"))

    results = await store.apply_alerts(batch, ROUTING)

    failed = results.pop(ALERTS_PER_CALL + 3)
    assert isinstance(failed, ResponseError)
    assert "invalid token" in str(failed)
    assert all(not isinstance(r, BaseException) and r[0].outcome is Outcome.OPENED for r in results)
