"""Paging runs against a real Valkey: a severity raise or a reopening pages again from level
1, what belonged to an earlier run does nothing, and resolving by hand tells everyone paged.
The recording channels and scheduler of ``test_paging`` stand in for the outside world."""

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier import keys
from notifier.deliveries import Deliveries
from notifier.escalation import FIRST, Step, first
from notifier.paging import DELIVERIES_KEPT
from notifier.worker import EventConsumer
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.incidents import Resolution
from router.models import IncidentStatus, TimelineKind
from tests.conftest import ManualClock
from tests.integration.test_paging import LEVEL_1_TIMEOUT, LEVEL_2_TIMEOUT, World, make_world

ROUTING = RoutingConfig(
    routes=[
        Route(
            name="payments", match={"service": "payments"}, policy="payments", group_by=["service"]
        )
    ],
    severity=[
        SeverityRule(match={"severity": "critical"}, level=Severity.SEV1),
        SeverityRule(match={"severity": "warning"}, level=Severity.SEV3),
    ],
)
"""As ``test_paging``'s, but one incident per service, and severity by label (SEV2 without)."""


def alert(w: World, key: str, status: AlertStatus = AlertStatus.FIRING, **labels: str) -> Alert:
    return Alert(
        dedup_key=key,
        status=status,
        summary=f"{key} on payments",
        labels={"service": "payments", **labels},
        integration="prom",
        source="alertmanager",
        received_at=w.clock(),
    )


async def opened_and_paged(w: World) -> str:
    """A SEV3 incident whose first page (alice, by mail and webhook) went out."""
    change = await w.store.apply_alert(alert(w, "latency", severity="warning"), ROUTING)
    assert change.incident_id is not None
    await w.pager.open(change.incident_id)
    return change.incident_id


async def raise_severity(w: World) -> int:
    """A critical alert joins the incident; the new paging run."""
    change = await w.store.apply_alert(alert(w, "errors", severity="critical"), ROUTING)
    assert change.incident is not None
    return change.incident.page_epoch


def notes(w: World, kind: str = "page") -> list[tuple[str, str, int | None, Severity]]:
    """(channel, person, level, severity) of each delivery of ``kind``, in order."""
    return [
        (channel.name, n.person, n.level, n.severity)
        for channel in (w.mail, w.hook)
        for n in channel.delivered
        if n.kind == kind
    ]


@pytest.fixture
def world(redis: Redis, clock: ManualClock) -> World:
    return make_world(redis, clock)


async def test_a_severity_raise_pages_level_one_again_once(world: World) -> None:
    incident_id = await opened_and_paged(world)
    world.clock.advance(timedelta(minutes=2))

    epoch = await raise_severity(world)
    for _ in range(2):  # the event delivered twice pages once
        await world.pager.severity_raised(incident_id, epoch)

    assert notes(world) == [
        ("mail", "alice", 1, Severity.SEV3),
        ("mail", "alice", 1, Severity.SEV1),
        ("hook", "alice", 1, Severity.SEV3),
        ("hook", "alice", 1, Severity.SEV1),
    ]
    paged = await world.timeline(incident_id, TimelineKind.PAGED)
    assert [(e.person, e.level, e.round) for e in paged[2:]] == [("alice", 1, 0)] * 2
    # The new run has its own acknowledgement timer, which escalates within the run.
    job_id = keys.escalate_job_id(incident_id, first(epoch))
    assert job_id == f"tocsin:escalate:{incident_id}:e1:0:0"
    assert job_id in [job.job_id for job in world.scheduler.jobs]
    await world.pager.escalate(incident_id, first(epoch))
    assert sorted((p, lvl) for _, p, lvl, _ in notes(world) if lvl == 2) == [
        ("bob", 2),
        ("carol", 2),
    ]
    assert world.scheduler.jobs[-1].job_id == keys.escalate_job_id(
        incident_id, Step(0, 1, epoch=epoch)
    )
    assert world.scheduler.jobs[-1].delay == LEVEL_2_TIMEOUT


async def test_timers_of_an_earlier_paging_run_do_nothing(world: World) -> None:
    incident_id = await opened_and_paged(world)
    await raise_severity(world)
    before = (
        len(world.delivered),
        len(world.scheduler.jobs),
        await world.store.timeline(incident_id),
    )

    # The first run's acknowledgement timer, a retry and a look at the silences, run late.
    await world.pager.escalate(incident_id, FIRST)
    await world.pager.page(incident_id, Step(0, 1), attempt=1)
    await world.pager.page(incident_id, FIRST, attempt=2)

    after = (
        len(world.delivered),
        len(world.scheduler.jobs),
        await world.store.timeline(incident_id),
    )
    assert after == before


async def test_a_raise_event_overtaken_by_another_raise_does_nothing(world: World) -> None:
    incident_id = await opened_and_paged(world)
    to_sev2 = await world.store.apply_alert(alert(world, "disk"), ROUTING)
    assert to_sev2.incident is not None
    to_sev1 = await raise_severity(world)

    # The worker reads both raises only now: the first is overtaken, the second pages.
    await world.pager.severity_raised(incident_id, to_sev2.incident.page_epoch)
    await world.pager.severity_raised(incident_id, to_sev1)

    assert [(p, lvl, sev) for c, p, lvl, sev in notes(world) if c == "mail"] == [
        ("alice", 1, Severity.SEV3),
        ("alice", 1, Severity.SEV1),
    ]


async def test_a_raise_on_an_acknowledged_incident_tells_its_owner_instead(world: World) -> None:
    incident_id = await opened_and_paged(world)
    await world.store.acknowledge(incident_id, "alice", world.clock())
    await world.pager.acknowledged(incident_id)

    epoch = await raise_severity(world)
    for _ in range(2):
        await world.pager.severity_raised(incident_id, epoch)

    assert notes(world, "severity_raised") == [
        ("mail", "alice", None, Severity.SEV1),
        ("hook", "alice", None, Severity.SEV1),
    ]
    assert len(notes(world)) == 2  # the first page only
    told = await world.timeline(incident_id, TimelineKind.SEVERITY_RAISED_NOTICE)
    assert sorted((e.person, e.channel) for e in told) == [("alice", "hook"), ("alice", "mail")]
    assert (await world.incident(incident_id)).status is IncidentStatus.ACKNOWLEDGED


async def test_a_raise_on_an_incident_a_tool_acknowledged_tells_those_paged(
    world: World,
) -> None:
    # An API token is nobody to tell: whoever its latest level paged hears of it instead.
    incident_id = await opened_and_paged(world)
    await world.store.acknowledge(incident_id, "token:ci-bot", world.clock())
    await world.pager.acknowledged(incident_id)

    epoch = await raise_severity(world)
    await world.pager.severity_raised(incident_id, epoch)

    assert notes(world, "severity_raised") == [
        ("mail", "alice", None, Severity.SEV1),
        ("hook", "alice", None, Severity.SEV1),
    ]
    assert (await world.incident(incident_id)).acknowledged_by == "token:ci-bot"


async def test_a_reopened_incident_is_paged_again_and_told_again_when_over(
    world: World, redis: Redis
) -> None:
    incident_id = await opened_and_paged(world)
    world.clock.advance(timedelta(minutes=1))
    await world.store.apply_alert(alert(world, "latency", AlertStatus.RESOLVED), ROUTING)
    await world.pager.resolved(incident_id)
    assert 0 < await redis.ttl(keys.deliveries(incident_id)) <= DELIVERIES_KEPT.total_seconds()
    world.clock.advance(timedelta(minutes=2))

    change = await world.store.apply_alert(alert(world, "latency", severity="warning"), ROUTING)
    assert change.incident is not None
    await world.pager.reopened(incident_id, change.incident.page_epoch)

    assert [(c, p, lvl) for c, p, lvl, _ in notes(world)] == [
        ("mail", "alice", 1),
        ("mail", "alice", 1),
        ("hook", "alice", 1),
        ("hook", "alice", 1),
    ]
    assert await redis.ttl(keys.deliveries(incident_id)) == -1
    world.clock.advance(timedelta(minutes=1))
    await world.store.apply_alert(alert(world, "latency", AlertStatus.RESOLVED), ROUTING)
    await world.pager.resolved(incident_id, change.incident.page_epoch)
    assert len(notes(world, "resolved")) == 4  # once per resolution, by both channels


async def test_a_resolution_overtaken_by_a_reopening_tells_nobody(world: World) -> None:
    incident_id = await opened_and_paged(world)
    await world.store.apply_alert(alert(world, "latency", AlertStatus.RESOLVED), ROUTING)
    await world.store.apply_alert(alert(world, "latency", severity="warning"), ROUTING)

    # The worker reads the resolution only now, when the incident is open again.
    await world.pager.resolved(incident_id, 0)

    assert notes(world, "resolved") == []
    assert await Deliveries(world.store.redis).done(incident_id)


async def test_resolving_by_hand_tells_everyone_paged(world: World) -> None:
    incident_id = await opened_and_paged(world)
    world.clock.advance(LEVEL_1_TIMEOUT)
    await world.pager.escalate(incident_id, FIRST)

    outcome, incident = await world.store.resolve(
        incident_id, "dave", world.clock(), retention=ROUTING.retention
    )
    assert outcome is Resolution.RESOLVED
    assert incident is not None
    await world.pager.resolved(incident_id, incident.page_epoch)

    told = sorted((p, c) for c, p, *_ in notes(world, "resolved"))
    assert told == [("alice", "hook"), ("alice", "mail"), ("bob", "mail"), ("carol", "hook")]
    # Its timers find it resolved.
    before = len(world.delivered)
    await world.pager.escalate(incident_id, Step(0, 1))
    assert len(world.delivered) == before


async def test_the_event_consumer_acts_on_raises_and_reopenings(world: World) -> None:
    consumer = EventConsumer(
        world.store, world.pager, "w1", CollectorRegistry(), retry_after=timedelta(0)
    )
    await world.store.events.ensure_group(keys.EVENTS_GROUP)
    incident_id = (
        await world.store.apply_alert(alert(world, "latency", severity="warning"), ROUTING)
    ).incident_id
    await raise_severity(world)
    # Read together: the opening's run was overtaken by the raise's, which pages (as SEV1).
    assert await consumer.step() == 2
    assert notes(world) == [
        ("mail", "alice", 1, Severity.SEV1),
        ("hook", "alice", 1, Severity.SEV1),
    ]
    for key in ("latency", "errors"):
        await world.store.apply_alert(alert(world, key, AlertStatus.RESOLVED), ROUTING)
    await world.store.apply_alert(alert(world, "latency", severity="warning"), ROUTING)

    assert await consumer.step() == 2  # resolved (overtaken: nobody told), reopened

    assert [lvl for c, p, lvl, _ in notes(world) if c == "mail"] == [1, 1]
    assert notes(world, "resolved") == []
    incident = await world.incident(incident_id or "")
    assert (incident.status, incident.page_epoch) == (IncidentStatus.TRIGGERED, 2)


COUNT = "tocsin_time_to_acknowledge_seconds_count"


async def test_the_first_acknowledgement_is_timed_once(world: World) -> None:
    incident_id = await opened_and_paged(world)
    world.clock.advance(timedelta(minutes=4))
    await world.store.acknowledge(incident_id, "alice", world.clock())

    for _ in range(2):  # the event delivered twice is timed once
        await world.pager.acknowledged(incident_id)

    sev3 = {"severity": "SEV3"}
    assert world.registry.get_sample_value(COUNT, sev3) == 1
    assert world.registry.get_sample_value("tocsin_time_to_acknowledge_seconds_sum", sev3) == 240


async def test_an_acknowledgement_of_a_later_paging_run_is_not_timed(world: World) -> None:
    incident_id = await opened_and_paged(world)
    epoch = await raise_severity(world)
    await world.pager.severity_raised(incident_id, epoch)
    world.clock.advance(timedelta(hours=3))
    await world.store.acknowledge(incident_id, "alice", world.clock())

    await world.pager.acknowledged(incident_id, epoch)

    for severity in ("SEV1", "SEV3"):
        labels = {"severity": severity}
        assert world.registry.get_sample_value(COUNT, labels) is None
