"""Snoozing, reassigning and an acknowledgement running out, in the store on real Valkey:
each change with its timeline entry and its event, idempotent, and the running-out step
(``retrigger.lua``) a no-op once someone changed the incident since."""

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from router.models import IncidentEventKind, IncidentStatus, TimelineKind
from router.states import IllegalTransition
from router.store import IncidentStore
from tests.integration.test_incident_transitions import RESOLVED, T0, World, alert

MINUTE = timedelta(minutes=1)
UNTIL = T0 + timedelta(minutes=15)


@pytest.fixture
async def world(redis: Redis) -> World:
    w = World(IncidentStore(redis), redis)
    await w.apply(alert("disk"))
    return w


async def test_a_snooze_acknowledges_until_a_time_once(world: World) -> None:
    snoozed = await world.store.snooze("1", "bob", T0, UNTIL)
    again = await world.store.snooze("1", "bob", T0 + MINUTE, UNTIL + MINUTE)

    assert again == snoozed == await world.incident()
    assert snoozed.status is IncidentStatus.ACKNOWLEDGED
    assert (snoozed.acknowledged_by, snoozed.snoozed_until) == ("bob", UNTIL)
    assert (await world.kinds()).count(TimelineKind.SNOOZED) == 1
    assert await world.events() == [IncidentEventKind.OPENED, IncidentEventKind.SNOOZED]


async def test_acknowledging_a_snoozed_incident_takes_it_for_good(world: World) -> None:
    await world.store.snooze("1", "bob", T0, UNTIL)

    taken = await world.store.acknowledge("1", "alice", T0 + MINUTE)

    assert (taken.acknowledged_by, taken.acknowledged_at) == ("alice", T0 + MINUTE)
    assert taken.snoozed_until is None
    # The snooze's acknowledgement is no longer the incident's: its end changes nothing.
    assert await world.store.retrigger("1", T0, UNTIL, "snooze over") is None
    assert (await world.incident()).status is IncidentStatus.ACKNOWLEDGED


async def test_an_acknowledgement_running_out_pages_again_under_a_new_run(world: World) -> None:
    acked = await world.store.acknowledge("1", "alice", T0)
    assert acked.acknowledged_at is not None

    again = await world.store.retrigger("1", acked.acknowledged_at, UNTIL, "ack expired")

    assert again is not None
    assert again == await world.incident()
    assert again.status is IncidentStatus.TRIGGERED
    assert (again.acknowledged_by, again.acknowledged_at, again.page_epoch) == (None, None, 1)
    story = await world.store.timeline("1")
    assert (story[-1].kind, story[-1].detail) == (TimelineKind.RETRIGGERED, "ack expired")
    assert (await world.events())[-1] == IncidentEventKind.RETRIGGERED
    # Run twice (a job run late): the second finds nothing to do.
    assert await world.store.retrigger("1", acked.acknowledged_at, UNTIL, "ack expired") is None
    assert (await world.incident()).page_epoch == 1


async def test_running_out_does_nothing_to_a_resolved_incident(world: World) -> None:
    acked = await world.store.acknowledge("1", "alice", T0)
    assert acked.acknowledged_at is not None
    await world.apply(alert("disk", RESOLVED, at=T0 + MINUTE))

    assert await world.store.retrigger("1", acked.acknowledged_at, UNTIL, "x") is None
    assert (await world.incident()).status is IncidentStatus.RESOLVED


async def test_snoozing_a_resolved_incident_raises(world: World) -> None:
    await world.apply(alert("disk", RESOLVED, at=T0 + MINUTE))
    with pytest.raises(IllegalTransition):
        await world.store.snooze("1", "bob", T0 + MINUTE, UNTIL)


async def test_reassigning_names_the_owner_once_and_keeps_it_waiting(world: World) -> None:
    first = await world.store.reassign("1", "carol", "bob", T0)
    again = await world.store.reassign("1", "carol", "alice", T0 + MINUTE)

    assert first == again == await world.incident()
    assert first.status is IncidentStatus.TRIGGERED
    assert (first.assigned_to, first.assigned_by, first.assigned_at) == ("carol", "bob", T0)
    assert first.acknowledged_by is None
    entries = [e for e in await world.store.timeline("1") if e.kind is TimelineKind.REASSIGNED]
    assert [(e.person, e.detail) for e in entries] == [("bob", "to carol")]
    assert (await world.events())[-1] == IncidentEventKind.REASSIGNED


async def test_an_acknowledged_incident_is_not_reassigned(world: World) -> None:
    await world.store.acknowledge("1", "alice", T0)
    with pytest.raises(IllegalTransition):
        await world.store.reassign("1", "carol", "bob", T0 + MINUTE)
