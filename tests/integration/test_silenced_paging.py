"""A silence holds a page while every firing alert of the incident is silenced, records the
hold on the incident, and lets paging start once it ends (injected clock, no sleeping)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from ingest.models import AlertStatus
from notifier.escalation import FIRST
from notifier.holds import HOLD_RECHECK
from router.config import Route, RoutingConfig
from router.inhibition import InhibitRule
from router.maintenance import MaintenanceWindow
from router.matchers import parse_matcher
from router.models import TimelineKind
from router.silence_store import SilenceStore
from router.silences import Silence, SilenceMatcher
from tests.conftest import ManualClock
from tests.integration.test_paging import ROUTING, World, alert, make_world

WINDOW = timedelta(minutes=30)


@pytest.fixture
def world(redis: Redis, clock: ManualClock) -> World:
    return make_world(redis, clock)


async def silence(world: World, redis: Redis, *matchers: str, length: timedelta = WINDOW) -> str:
    now = world.clock()
    made = Silence(
        matchers=[SilenceMatcher.of(parse_matcher(m)) for m in matchers],
        starts_at=now,
        ends_at=now + length,
        created_by="alice",
        comment="deploying payments",
    )
    return (await SilenceStore(redis).save(made, now)).id


async def test_a_silenced_incident_is_recorded_but_pages_nobody_until_the_silence_ends(
    world: World, redis: Redis
) -> None:
    silence_id = await silence(world, redis, "service=payments")
    incident_id = await world.open("payments")

    await world.pager.open(incident_id)

    assert world.delivered == []
    [held] = await world.timeline(incident_id, TimelineKind.PAGE_HELD)
    assert held.detail is not None
    assert held.detail.startswith(f"silenced by {silence_id} until ")
    assert held.detail.endswith(": deploying payments")
    # No escalation timer runs while held: only a look again, within a minute.
    [again] = world.scheduler.jobs
    assert (again.job, again.step, again.delay) == ("retry_page", FIRST, HOLD_RECHECK)

    # Still silenced a minute later: held again, recorded once.
    world.clock.advance(HOLD_RECHECK)
    await world.pager.page(incident_id, FIRST)
    assert world.delivered == []
    assert len(await world.timeline(incident_id, TimelineKind.PAGE_HELD)) == 1

    # The silence ends while the alert still fires: paging starts then.
    world.clock.advance(WINDOW)
    await world.pager.page(incident_id, FIRST)
    assert {n.person for n in world.delivered} == {"alice"}
    assert world.scheduler.jobs[-1].job == "escalate"


async def test_one_unsilenced_firing_alert_is_enough_to_page(world: World, redis: Redis) -> None:
    await silence(world, redis, "service=payments", "alertname=HighLatency")
    routing = RoutingConfig(routes=[ROUTING.routes[0].model_copy(update={"group_by": ["service"]})])
    first = await world.store.apply_alert(alert(world.clock(), "payments"), routing)
    other = alert(world.clock(), "payments").model_copy(
        update={"dedup_key": "errors", "labels": {"service": "payments", "alertname": "Errors"}}
    )
    joined = await world.store.apply_alert(other, routing)
    assert joined.incident_id == first.incident_id
    incident_id = joined.incident_id
    assert incident_id is not None

    await world.pager.open(incident_id)

    assert {n.person for n in world.delivered} == {"alice"}
    assert await world.timeline(incident_id, TimelineKind.PAGE_HELD) == []


async def test_a_silence_expired_early_releases_the_page_at_the_next_look(
    world: World, redis: Redis
) -> None:
    silence_id = await silence(world, redis, 'service=~"pay.*"', length=timedelta(hours=8))
    incident_id = await world.open("payments")
    await world.pager.open(incident_id)
    assert world.delivered == []

    await SilenceStore(redis).expire(silence_id, world.clock())
    world.clock.advance(HOLD_RECHECK)
    await world.pager.page(incident_id, FIRST)

    assert {n.person for n in world.delivered} == {"alice"}


async def test_a_silence_of_other_alerts_changes_nothing(world: World, redis: Redis) -> None:
    await silence(world, redis, "service=database")
    incident_id = await world.open("payments")
    await world.pager.open(incident_id)
    assert {n.person for n in world.delivered} == {"alice"}


async def test_a_maintenance_window_holds_pages_on_its_schedule(world: World) -> None:
    # The clock starts on Monday 2026-03-02 12:00 UTC (13:00 in Berlin).
    window = MaintenanceWindow(
        name="payments-deploy",
        matchers=["service=payments"],
        timezone="Europe/Berlin",
        days=["mon"],
        start="13:00",
        end="13:30",
    )
    world.pager.directory = replace(world.pager.directory, maintenance=[window])
    incident_id = await world.open("payments")

    await world.pager.open(incident_id)
    assert world.delivered == []
    [held] = await world.timeline(incident_id, TimelineKind.PAGE_HELD)
    assert held.detail is not None
    assert held.detail.startswith("silenced by maintenance:payments-deploy until ")

    world.clock.advance(timedelta(minutes=30))  # the window closes
    await world.pager.page(incident_id, FIRST)
    assert {n.person for n in world.delivered} == {"alice"}


async def test_inhibition_holds_service_pages_while_the_cluster_alert_fires(
    world: World,
) -> None:
    rule = InhibitRule(
        source_matchers=["alertname=ClusterDown"],
        target_matchers=["alertname=HighLatency"],
        equal=["cluster"],
    )
    routing = RoutingConfig(
        routes=[*ROUTING.routes, Route(name="infra", match={}, policy="database")],
        inhibit_rules=[rule],
    )
    world.pager.directory = replace(world.pager.directory, inhibit_rules=[rule])
    cluster = alert(world.clock(), "infra").model_copy(
        update={"dedup_key": "cluster", "labels": {"alertname": "ClusterDown", "cluster": "eu1"}}
    )
    await world.store.apply_alert(cluster, routing)
    service = alert(world.clock(), "payments").model_copy(
        update={"labels": {"service": "payments", "alertname": "HighLatency", "cluster": "eu1"}}
    )
    change = await world.store.apply_alert(service, routing)
    assert change.incident_id is not None

    await world.pager.open(change.incident_id)
    assert world.delivered == []
    [held] = await world.timeline(change.incident_id, TimelineKind.PAGE_HELD)
    assert held.detail == f"inhibited by rule {rule.id}"

    # The cluster recovers: at the next look, payments pages.
    await world.store.apply_alert(
        cluster.model_copy(update={"status": AlertStatus.RESOLVED}), routing
    )
    world.clock.advance(HOLD_RECHECK)
    await world.pager.page(change.incident_id, FIRST)
    assert {n.person for n in world.delivered} == {"alice"}
