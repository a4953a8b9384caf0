"""Setting an incident's severity by hand, against a real Valkey with the recording channels
and scheduler of ``test_paging``: a raise pages level 1 again as a raise by an alert does (or
tells whoever acknowledged it), a lower is only recorded, a lower to SEV4 stops the paging
run, later alerts may raise it again but never lower it, and a change racing an alert's raise
pages once."""

import asyncio
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from notifier import keys as notifier_keys
from notifier.escalation import FIRST, Step, first
from notifier.worker import EventConsumer
from router import keys
from router.config import Severity
from router.incidents import SeverityChange
from router.models import (
    Incident,
    IncidentEvent,
    IncidentEventKind,
    IncidentStatus,
    TimelineKind,
)
from tests.conftest import ManualClock
from tests.integration.test_paging import LEVEL_1_TIMEOUT, World, make_world
from tests.integration.test_repaging import ROUTING, alert, notes, opened_and_paged


@pytest.fixture
def world(redis: Redis, clock: ManualClock) -> World:
    return make_world(redis, clock)


async def set_to(w: World, incident_id: str, severity: Severity, by: str = "bob") -> Incident:
    """Set by hand; the incident as it now is, after a change."""
    outcome, incident = await w.store.set_severity(incident_id, severity, by, w.clock())
    assert outcome in (SeverityChange.RAISED, SeverityChange.LOWERED), outcome
    assert incident is not None
    return incident


async def announced(redis: Redis) -> list[tuple[IncidentEventKind, int]]:
    entries = await redis.xrange(keys.EVENT_STREAM)
    events = [IncidentEvent.model_validate_json(fields[b"m"]) for _, fields in entries]
    return [(event.kind, event.epoch) for event in events]


async def sev1_paged(w: World) -> str:
    """A SEV1 incident (a critical alert) whose first page went out to alice."""
    change = await w.store.apply_alert(alert(w, "errors", severity="critical"), ROUTING)
    assert change.incident_id is not None
    await w.pager.open(change.incident_id)
    return change.incident_id


async def test_a_raise_while_triggered_pages_level_one_again_under_a_new_run(
    world: World, redis: Redis
) -> None:
    incident_id = await opened_and_paged(world)
    world.clock.advance(timedelta(minutes=2))

    raised = await set_to(world, incident_id, Severity.SEV1)
    for _ in range(2):  # the event delivered twice pages once
        await world.pager.severity_raised(incident_id, raised.page_epoch)

    assert (raised.severity, raised.page_epoch) == (Severity.SEV1, 1)
    assert await announced(redis) == [
        (IncidentEventKind.OPENED, 0),
        (IncidentEventKind.SEVERITY_RAISED, 1),
    ]
    [changed] = await world.timeline(incident_id, TimelineKind.SEVERITY_CHANGED)
    assert (changed.person, changed.detail, changed.at) == (
        "bob",
        "SEV3 → SEV1 by bob",
        world.clock(),
    )
    assert notes(world) == [
        ("mail", "alice", 1, Severity.SEV3),
        ("mail", "alice", 1, Severity.SEV1),
        ("hook", "alice", 1, Severity.SEV3),
        ("hook", "alice", 1, Severity.SEV1),
    ]
    # The first run's timer is over; the new run has its own.
    before = len(world.delivered)
    await world.pager.escalate(incident_id, FIRST)
    assert len(world.delivered) == before
    assert notifier_keys.escalate_job_id(incident_id, first(1)) in [
        job.job_id for job in world.scheduler.jobs
    ]


async def test_a_raise_while_acknowledged_tells_the_owner(world: World) -> None:
    incident_id = await opened_and_paged(world)
    await world.store.acknowledge(incident_id, "alice", world.clock())

    raised = await set_to(world, incident_id, Severity.SEV2)
    await world.pager.severity_raised(incident_id, raised.page_epoch)

    assert notes(world, "severity_raised") == [
        ("mail", "alice", None, Severity.SEV2),
        ("hook", "alice", None, Severity.SEV2),
    ]
    assert len(notes(world)) == 2  # the first page only
    assert (await world.incident(incident_id)).status is IncidentStatus.ACKNOWLEDGED


async def test_a_lower_is_recorded_and_the_run_goes_on_at_the_new_severity(
    world: World, redis: Redis
) -> None:
    incident_id = await sev1_paged(world)

    lowered = await set_to(world, incident_id, Severity.SEV2, by="alice")
    world.clock.advance(LEVEL_1_TIMEOUT)
    await world.pager.escalate(incident_id, FIRST)

    assert (lowered.severity, lowered.page_epoch) == (Severity.SEV2, 0)
    assert await announced(redis) == [(IncidentEventKind.OPENED, 0)]
    [changed] = await world.timeline(incident_id, TimelineKind.SEVERITY_CHANGED)
    assert (changed.person, changed.detail) == ("alice", "SEV1 → SEV2 by alice")
    level_2 = sorted((c, p, sev) for c, p, lvl, sev in notes(world) if lvl == 2)
    assert level_2 == [("hook", "carol", Severity.SEV2), ("mail", "bob", Severity.SEV2)]


async def test_lowered_to_sev4_its_timers_page_nobody(world: World, redis: Redis) -> None:
    incident_id = await sev1_paged(world)
    story = await world.store.timeline(incident_id)
    delivered = len(world.delivered)

    lowered = await set_to(world, incident_id, Severity.SEV4)
    world.clock.advance(LEVEL_1_TIMEOUT)
    # The first level's acknowledgement timer and a retry of its page, due now.
    await world.pager.escalate(incident_id, FIRST)
    await world.pager.page(incident_id, FIRST, attempt=1)
    await world.pager.escalate(incident_id, Step(0, 1))

    assert (lowered.severity, lowered.page_epoch) == (Severity.SEV4, 1)
    assert await announced(redis) == [(IncidentEventKind.OPENED, 0)]
    assert len(world.delivered) == delivered
    after = await world.store.timeline(incident_id)
    assert [e.kind for e in after[len(story) :]] == [TimelineKind.SEVERITY_CHANGED]
    # Raised again, it pages from level 1 under the next run.
    raised = await set_to(world, incident_id, Severity.SEV2)
    await world.pager.severity_raised(incident_id, raised.page_epoch)
    assert [(c, p, lvl, sev) for c, p, lvl, sev in notes(world) if sev is Severity.SEV2] == [
        ("mail", "alice", 1, Severity.SEV2),
        ("hook", "alice", 1, Severity.SEV2),
    ]


async def test_the_same_severity_a_resolved_or_a_missing_incident_change_nothing(
    world: World, redis: Redis
) -> None:
    incident_id = await opened_and_paged(world)
    story = await world.store.timeline(incident_id)

    same, incident = await world.store.set_severity(
        incident_id, Severity.SEV3, "bob", world.clock()
    )
    assert (same, incident and incident.severity) == (SeverityChange.UNCHANGED, Severity.SEV3)
    await world.store.resolve(incident_id, "bob", world.clock(), retention=ROUTING.retention)
    over, incident = await world.store.set_severity(
        incident_id, Severity.SEV1, "bob", world.clock()
    )
    assert (over, incident and incident.severity) == (SeverityChange.RESOLVED, Severity.SEV3)
    missing = await world.store.set_severity("404", Severity.SEV1, "bob", world.clock())
    assert missing == (SeverityChange.NOT_FOUND, None)

    after = await world.store.timeline(incident_id)
    assert [e.kind for e in after[len(story) :]] == [TimelineKind.RESOLVED]
    assert [kind for kind, _ in await announced(redis)] == [
        IncidentEventKind.OPENED,
        IncidentEventKind.RESOLVED,
    ]
    with pytest.raises(ValueError, match="say who"):
        await world.store.set_severity(incident_id, Severity.SEV1, " ", world.clock())


async def test_later_alerts_may_raise_a_choice_made_by_hand_but_never_lower_it(
    world: World,
) -> None:
    incident_id = await sev1_paged(world)
    await set_to(world, incident_id, Severity.SEV3)

    # The critical alert firing on: a repeat brings nothing new, the choice stands.
    await world.store.apply_alert(alert(world, "errors", severity="critical"), ROUTING)
    assert (await world.incident(incident_id)).severity is Severity.SEV3
    # A new alert of a lower severity leaves it; one of a higher severity raises it.
    await world.store.apply_alert(alert(world, "cpu", severity="warning"), ROUTING)
    assert (await world.incident(incident_id)).severity is Severity.SEV3
    change = await world.store.apply_alert(alert(world, "disk"), ROUTING)  # SEV2
    assert change.incident is not None
    assert (change.incident.severity, change.incident.page_epoch) == (Severity.SEV2, 1)

    # Raised by hand, an alert of a lower severity does not bring it down.
    await set_to(world, incident_id, Severity.SEV1)
    await world.store.apply_alert(alert(world, "queue", severity="warning"), ROUTING)
    assert (await world.incident(incident_id)).severity is Severity.SEV1


async def test_a_change_racing_an_alerts_raise_pages_level_one_once(
    world: World, redis: Redis
) -> None:
    consumer = EventConsumer(
        world.store, world.pager, "w1", CollectorRegistry(), retry_after=timedelta(0)
    )
    await world.store.events.ensure_group(notifier_keys.EVENTS_GROUP)
    incident_id = await opened_and_paged(world)
    assert await consumer.step() == 1  # the opening: alice paged as SEV3 already
    world.clock.advance(timedelta(minutes=1))

    (by_hand, _), _ = await asyncio.gather(
        world.store.set_severity(incident_id, Severity.SEV1, "bob", world.clock()),
        world.store.apply_alert(alert(world, "errors", severity="critical"), ROUTING),
    )
    await consumer.step()

    # Whichever came second found SEV1 already: one raise, one new run, one page per way.
    incident = await world.incident(incident_id)
    assert (incident.severity, incident.page_epoch) == (Severity.SEV1, 1)
    raises = [kind for kind, _ in await announced(redis)].count(IncidentEventKind.SEVERITY_RAISED)
    assert raises == 1
    story = await world.timeline(
        incident_id, TimelineKind.SEVERITY_CHANGED, TimelineKind.SEVERITY_RAISED
    )
    assert len(story) == 1
    assert (by_hand is SeverityChange.RAISED) == (story[0].kind is TimelineKind.SEVERITY_CHANGED)
    assert [(c, p, lvl) for c, p, lvl, sev in notes(world) if sev is Severity.SEV1] == [
        ("mail", "alice", 1),
        ("hook", "alice", 1),
    ]
