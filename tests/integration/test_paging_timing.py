"""When pages go out: group_wait collects a burst into the first page, group_interval reports
alerts joining an open incident, and a severity's urgency with its route's support hours
says now, later or never (injected clock, due jobs run as the clock moves)."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier.channels import MAX_ALERTS
from notifier.channels.render import text_body
from notifier.escalation import FIRST
from router import keys as router_keys
from router.config import Route, RoutingConfig, SeverityRule, by_name
from router.models import IncidentEvent, IncidentEventKind, TimelineKind
from schedules.weekly import WeeklyWindow
from tests.conftest import ManualClock
from tests.integration.test_paging import LEVEL_1_TIMEOUT, World, alert, make_world
from tests.integration.timers import Timers

WAIT = timedelta(seconds=30)
# The clock starts on Monday 2026-03-02 12:00 UTC, 13:00 in Berlin.
MORNINGS = WeeklyWindow(
    timezone="Europe/Berlin", days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="12:00"
)
OFFICE = MORNINGS.model_copy(update={"end": "17:00"})
TUESDAY_0900_BERLIN = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


@dataclass
class Timed:
    world: World
    timers: Timers
    routing: RoutingConfig

    async def fire(self, name: str, severity: str = "critical") -> str:
        """An alert of the payments service; returns its incident's id."""
        change = await self.world.store.apply_alert(
            named(self.world.clock(), name, severity), self.routing
        )
        assert change.incident_id is not None
        return change.incident_id

    async def until(self, at: datetime) -> None:
        await self.timers.run_until(self.world.pager, at)

    def pages(self) -> list[tuple[str, int]]:
        """(person, number of alerts listed) of every page delivered by mail."""
        return [(n.person, len(n.alerts)) for n in self.world.mail.delivered if n.kind == "page"]


def named(at: datetime, name: str, severity: str) -> Alert:
    base = alert(at, "payments")
    labels = {**base.labels, "alertname": name, "severity": severity}
    return base.model_copy(update={"dedup_key": name, "labels": labels, "summary": name})


def timed(redis: Redis, clock: ManualClock, **settings: object) -> Timed:
    """The payments route with these settings, one incident per service, and severities
    from the alerts' ``severity`` label (SEV2 when no rule names it)."""
    route = Route(
        name="payments",
        match={"service": "payments"},
        policy="payments",
        group_by=["service"],
        **settings,
    )
    routing = RoutingConfig(
        routes=[route],
        severity=[
            SeverityRule(match={"severity": "critical"}, level="SEV1"),
            SeverityRule(match={"severity": "warning"}, level="SEV3"),
            SeverityRule(match={"severity": "info"}, level="SEV4"),
        ],
    )
    world = make_world(redis, clock)
    timers = Timers(clock)
    world.pager.scheduler = timers
    world.pager.directory = replace(world.pager.directory, routes=by_name(routing.tree))
    return Timed(world, timers, routing)


async def test_group_wait_collects_a_burst_into_one_first_page(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, group_wait=WAIT)
    start = clock()
    incident_id = await t.fire("HighLatency")

    await t.world.pager.open(incident_id)
    assert t.pages() == []
    assert t.timers.due("retry_page") == [start + WAIT]

    for name in ("Errors", "Timeouts", "QueueDepth"):
        clock.advance(timedelta(seconds=5))
        assert await t.fire(name) == incident_id
    await t.world.pager.open(incident_id)  # the event again: still one page, when due
    await t.until(start + WAIT - timedelta(seconds=1))
    assert t.pages() == []

    await t.until(start + WAIT)
    assert t.pages() == [("alice", 4)]
    note = t.world.mail.delivered[0]
    assert {a.summary for a in note.alerts} == {"HighLatency", "Errors", "Timeouts", "QueueDepth"}
    assert t.timers.due("escalate") == [start + WAIT + LEVEL_1_TIMEOUT]


async def test_an_incident_over_before_its_group_wait_pages_nobody(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, group_wait=WAIT)
    acknowledged = await t.fire("HighLatency")
    await t.world.pager.open(acknowledged)
    await t.world.store.acknowledge(acknowledged, "alice", clock())

    resolved_alert = named(clock(), "Disk", "critical").model_copy(
        update={"labels": {"service": "payments-db", "alertname": "Disk"}}
    )
    routing = RoutingConfig(routes=[Route(name="db", match={}, policy="payments", group_wait=WAIT)])
    t.world.pager.directory = replace(t.world.pager.directory, routes=by_name(routing.tree))
    opened = await t.world.store.apply_alert(resolved_alert, routing)
    assert opened.incident_id is not None
    await t.world.pager.open(opened.incident_id)
    clock.advance(timedelta(seconds=10))
    resolution = resolved_alert.model_copy(
        update={"status": AlertStatus.RESOLVED, "received_at": clock()}
    )
    await t.world.store.apply_alert(resolution, routing)

    await t.until(clock() + WAIT)
    assert t.world.delivered == []
    assert t.timers.pending == {}


async def test_sev3_outside_support_hours_pages_exactly_when_they_start(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, support_hours=[MORNINGS])
    incident_id = await t.fire("DiskFilling", "warning")

    await t.world.pager.open(incident_id)
    await t.world.pager.open(incident_id)  # the event again

    assert t.world.delivered == []
    [deferred] = await t.world.timeline(incident_id, TimelineKind.PAGE_DEFERRED)
    assert deferred.detail == "SEV3 outside support hours; pages at 2026-03-03 08:00:00 UTC"
    assert t.timers.due("retry_page") == [TUESDAY_0900_BERLIN]
    assert t.timers.due("escalate") == []

    await t.until(TUESDAY_0900_BERLIN - timedelta(seconds=1))
    assert t.world.delivered == []
    await t.until(TUESDAY_0900_BERLIN)
    assert t.pages() == [("alice", 1)]
    paged = await t.world.timeline(incident_id, TimelineKind.PAGED)
    assert {e.at for e in paged} == {TUESDAY_0900_BERLIN}
    assert len(await t.world.timeline(incident_id, TimelineKind.PAGE_DEFERRED)) == 1


async def test_sev3_inside_support_hours_pages_now(redis: Redis, clock: ManualClock) -> None:
    t = timed(redis, clock, support_hours=[OFFICE])
    incident_id = await t.fire("DiskFilling", "warning")

    await t.world.pager.open(incident_id)

    assert t.pages() == [("alice", 1)]
    assert await t.world.timeline(incident_id, TimelineKind.PAGE_DEFERRED) == []


async def test_sev3_without_support_hours_pages_now(redis: Redis, clock: ManualClock) -> None:
    t = timed(redis, clock)
    incident_id = await t.fire("DiskFilling", "warning")
    await t.world.pager.open(incident_id)
    assert t.pages() == [("alice", 1)]


async def test_an_escalation_due_after_hours_waits_for_the_next_morning(
    redis: Redis, clock: ManualClock
) -> None:
    closing = OFFICE.model_copy(update={"end": "13:03"})
    t = timed(redis, clock, support_hours=[closing])
    incident_id = await t.fire("DiskFilling", "warning")
    await t.world.pager.open(incident_id)
    assert t.pages() == [("alice", 1)]

    await t.until(clock() + LEVEL_1_TIMEOUT)  # level 1's timer ends at 13:05, after hours
    assert t.pages() == [("alice", 1)]
    [deferred] = await t.world.timeline(incident_id, TimelineKind.PAGE_DEFERRED)
    assert deferred.level == 2

    await t.until(TUESDAY_0900_BERLIN)
    assert sorted(t.pages()) == [("alice", 1), ("bob", 1)]


async def test_sev4_opens_the_incident_and_pages_nobody(redis: Redis, clock: ManualClock) -> None:
    t = timed(redis, clock, support_hours=[OFFICE])
    incident_id = await t.fire("CertificateExpiresInAMonth", "info")

    await t.world.pager.open(incident_id)
    await t.world.pager.page(incident_id, FIRST)

    assert t.world.delivered == []
    assert t.timers.pending == {}
    [recorded] = await t.world.timeline(incident_id, TimelineKind.NOT_PAGED)
    assert recorded.detail == "SEV4: pages nobody"


@pytest.mark.parametrize("severity", ["critical", "error"])
async def test_sev1_and_sev2_page_at_any_hour(
    redis: Redis, clock: ManualClock, severity: str
) -> None:
    t = timed(redis, clock, support_hours=[MORNINGS])
    incident_id = await t.fire("Down", severity)
    await t.world.pager.open(incident_id)
    assert t.pages() == [("alice", 1)]
    assert (await t.world.incident(incident_id)).severity == {"critical": "SEV1"}.get(
        severity, "SEV2"
    )


INTERVAL = timedelta(minutes=5)


async def announced(t: Timed, redis: Redis, after: str = "-") -> str:
    """Hand the router's new incident events to the pager, as the worker does; returns the
    last entry's id."""
    for entry_id, fields in await redis.xrange(router_keys.EVENT_STREAM, min=after):
        if entry_id.decode() == after:
            continue
        event = IncidentEvent.model_validate_json(fields[b"m"])
        if event.kind is IncidentEventKind.ALERTS_ADDED:
            await t.world.pager.report_alerts(event.incident_id)
        after = entry_id.decode()
    return after


def updates(t: Timed) -> list[tuple[str, int]]:
    return [(n.person, n.alerts_added) for n in t.world.mail.delivered if n.kind == "update"]


async def test_a_storm_joining_an_incident_is_reported_once_per_group_interval(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, group_interval=INTERVAL)
    start = clock()
    incident_id = await t.fire("HighLatency")
    await t.world.pager.open(incident_id)
    await t.world.store.acknowledge(incident_id, "alice", clock())  # she works on it
    last = await announced(t, redis)

    # 2,000 alerts join over ten minutes, 100 every 30 seconds.
    for batch in range(1, 21):
        await t.until(start + batch * timedelta(seconds=30))
        storm = [(named(clock(), f"Pod{batch}-{i}", "critical"), None) for i in range(100)]
        await t.world.store.apply_alerts(storm, t.routing)
        last = await announced(t, redis, last)
    await t.until(start + timedelta(minutes=15))

    # Reports at 5, 10 and 15 minutes: the first 900, the next 1,000, the last 100.
    assert updates(t) == [("alice", 900), ("alice", 1000), ("alice", 100)]
    # The event stream grew by one event per report, not per alert (beside the opening and
    # the acknowledgement).
    assert await redis.xlen(router_keys.EVENT_STREAM) == 2 + 3
    notices = await t.world.timeline(incident_id, TimelineKind.UPDATE_NOTICE)
    assert [(e.at - start, e.detail) for e in notices if e.channel == "mail"] == [
        (timedelta(minutes=5), "900 alerts joined"),
        (timedelta(minutes=10), "1000 alerts joined"),
        (timedelta(minutes=15), "100 alerts joined"),
    ]
    note = [n for n in t.world.mail.delivered if n.kind == "update"][-1]
    assert len(note.alerts) == MAX_ALERTS
    assert {a.summary for a in note.alerts} <= {f"Pod20-{i}" for i in range(100)}
    assert text_body(note).splitlines()[2] == (
        f"100 alerts joined incident #{incident_id} since the last update."
    )


async def test_alerts_collected_into_the_first_page_are_not_reported_again(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, group_wait=WAIT, group_interval=INTERVAL)
    start = clock()
    incident_id = await t.fire("HighLatency")
    await t.world.pager.open(incident_id)
    clock.advance(timedelta(seconds=10))
    await t.fire("Errors")
    last = await announced(t, redis)
    await t.until(start + WAIT)
    assert t.pages() == [("alice", 2)]
    await t.world.store.acknowledge(incident_id, "alice", clock())

    clock.advance(timedelta(minutes=1))
    await t.fire("Timeouts")
    await announced(t, redis, last)
    await t.until(start + timedelta(hours=1))

    assert updates(t) == [("alice", 1)]
    [notice] = [
        e
        for e in await t.world.timeline(incident_id, TimelineKind.UPDATE_NOTICE)
        if e.channel == "mail"
    ]
    assert (notice.at, notice.detail) == (start + WAIT + INTERVAL, "1 alert joined")


async def test_updates_go_to_whoever_has_the_incident(redis: Redis, clock: ManualClock) -> None:
    t = timed(redis, clock, group_interval=INTERVAL)
    incident_id = await t.fire("HighLatency")
    await t.world.pager.open(incident_id)
    await t.until(clock() + LEVEL_1_TIMEOUT)  # level 2 is paged: bob by mail, carol by hook
    await t.fire("Errors")
    last = await announced(t, redis)
    await t.until(clock() + INTERVAL)
    assert sorted(
        updates(t) + [(n.person, 1) for n in t.world.hook.delivered if n.kind == "update"]
    ) == [("bob", 1), ("carol", 1)]

    await t.world.store.acknowledge(incident_id, "bob", clock())
    await t.fire("Timeouts")
    await announced(t, redis, last)
    await t.until(clock() + INTERVAL)
    assert updates(t) == [("bob", 1), ("bob", 1)]


async def test_without_group_interval_joining_alerts_announce_nothing(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock)
    incident_id = await t.fire("HighLatency")
    await t.world.pager.open(incident_id)
    for name in ("Errors", "Timeouts"):
        await t.fire(name)

    assert await redis.xlen(router_keys.EVENT_STREAM) == 1
    assert (await t.world.incident(incident_id)).alerts_unreported == 0
    await t.until(clock() + timedelta(hours=1))
    assert updates(t) == []


async def test_a_report_due_when_the_incident_resolves_tells_nobody_and_keeps_its_expiry(
    redis: Redis, clock: ManualClock
) -> None:
    t = timed(redis, clock, group_interval=INTERVAL)
    incident_id = await t.fire("HighLatency")
    await t.world.pager.open(incident_id)
    await t.fire("Errors")
    await announced(t, redis)
    for name in ("HighLatency", "Errors"):
        resolution = named(clock(), name, "critical").model_copy(
            update={"status": AlertStatus.RESOLVED}
        )
        await t.world.store.apply_alert(resolution, t.routing)

    assert t.timers.due("report_alerts") == [clock() + INTERVAL]
    await t.until(clock() + INTERVAL)

    assert updates(t) == []
    assert not (await t.world.incident(incident_id)).report_pending
    assert await redis.ttl(router_keys.incident(incident_id)) > 0
