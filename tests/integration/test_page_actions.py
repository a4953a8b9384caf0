"""Acting from the incident page, end to end but for the browser: the page's forms posted to
the real web handler, the router's events read by the real notifier, its timers run as the
test moves the clock, and pages caught by the recording channels of ``test_paging``.

The payments policy: level 1 is alice (on call), level 2 bob and carol, repeated once."""

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from notifier.ack_web import AckPages, add_routes
from notifier.page_actions import PageActions
from notifier.signing import EVERY_ACTION, Action, action_url
from notifier.worker import EventConsumer
from router.config import Route, RoutingConfig, by_name
from router.models import Incident, IncidentStatus, TimelineKind
from router.store import IncidentStore
from schedules.override_store import OverrideStore
from schedules.stored import StoredOverride
from tests.conftest import ManualClock
from tests.integration.test_paging import (
    DIRECTORY,
    LEVEL_1_TIMEOUT,
    SECRET,
    RecordingChannel,
    alert,
    pager_with,
)
from tests.integration.timers import Timers, Worker

GRACE = timedelta(hours=1)
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def routing(ack_expiry: timedelta | int | None = None) -> RoutingConfig:
    return RoutingConfig(
        routes=[Route(name="payments", policy="payments", ack_expiry=ack_expiry)],
        retention=timedelta(days=1),
    )


@dataclass
class Desk:
    """The incident page and the notifier behind it, on one clock."""

    store: IncidentStore
    client: TestClient[web.Request, web.Application]
    worker: Worker
    mail: RecordingChannel
    hook: RecordingChannel
    clock: ManualClock
    routing: RoutingConfig

    async def open(self) -> Incident:
        change = await self.store.apply_alert(alert(self.clock(), "payments"), self.routing)
        assert change.incident is not None
        await self.settle()
        return await self.incident(change.incident.id)

    async def incident(self, incident_id: str) -> Incident:
        incident = await self.store.get(incident_id)
        assert incident is not None
        return incident

    async def settle(self) -> None:
        await self.worker.settle()

    async def advance(self, delta: timedelta) -> None:
        await self.worker.advance(delta)

    def link(
        self, incident: Incident, person: str, actions: frozenset[Action] = EVERY_ACTION
    ) -> str:
        url = action_url("", SECRET, incident.id, incident.created_at, person, actions)
        return url

    async def post(self, url: str, **form: str) -> tuple[int, str]:
        """Submit a form of the page as a browser does; the status and the page shown."""
        response = await self.client.post(url, data=form, headers=BROWSER)
        return response.history[0].status if response.history else response.status, (
            await response.text()
        )

    def sent(self, kind: str = "page") -> list[tuple[str, int | None, str]]:
        """(person, level, channel) of each delivery of ``kind``, in order per channel."""
        return [
            (n.person, n.level, channel.name)
            for channel in (self.mail, self.hook)
            for n in channel.delivered
            if n.kind == kind
        ]

    def sent_since(
        self, before: list[tuple[str, int | None, str]]
    ) -> list[tuple[str, int | None, str]]:
        """What was delivered since ``before`` (an earlier ``sent()``), sorted."""
        return sorted((Counter(self.sent()) - Counter(before)).elements())

    def people(self, kind: str = "page") -> list[str]:
        return sorted({person for person, *_ in self.sent(kind)})


@pytest.fixture
def desk_routing() -> RoutingConfig:
    return routing()


@pytest.fixture
async def desk(
    redis: Redis, clock: ManualClock, desk_routing: RoutingConfig
) -> AsyncIterator[Desk]:
    store = IncidentStore(redis)
    timers = Timers(clock)
    registry = CollectorRegistry()
    pager, mail, hook = pager_with(store, timers, clock, registry)
    directory = replace(DIRECTORY, routes=by_name(desk_routing.tree))
    pager.directory = directory
    consumer = EventConsumer(store, pager, "w1", registry, block=timedelta(milliseconds=1))
    actions = PageActions(store, directory, timers, retention=desk_routing.retention)
    app = web.Application()
    add_routes(app, AckPages(actions, SECRET, clock, grace=GRACE))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Desk(store, client, Worker(consumer, timers), mail, hook, clock, desk_routing)
    finally:
        await client.close()


async def kinds(
    desk: Desk, incident_id: str, kind: TimelineKind
) -> list[tuple[str | None, str | None]]:
    return [(e.person, e.detail) for e in await desk.store.timeline(incident_id) if e.kind is kind]


async def test_the_page_offers_each_action_and_opening_it_changes_nothing(desk: Desk) -> None:
    incident = await desk.open()

    page = await (await desk.client.get(desk.link(incident, "alice"))).text()

    assert '<form method="post"><button type="submit">Acknowledge</button></form>' in page
    assert 'name="step" value="0:0"' in page
    assert "Escalate now: page level 2" in page
    for minutes in (15, 30, 60):
        assert f'name="minutes" value="{minutes}">Snooze {minutes} min' in page
    # Anyone of the policy but the viewer, by name.
    assert '<option value="bob">Bob</option><option value="carol">Carol</option>' in page
    assert 'value="resolve"' in page
    assert await desk.incident(incident.id) == incident


async def test_a_link_offers_only_its_actions_and_refuses_the_others(desk: Desk) -> None:
    incident = await desk.open()
    url = desk.link(incident, "alice", frozenset({Action.SNOOZE}))

    page = await (await desk.client.get(url)).text()
    status, refused = await desk.post(url, action="resolve")

    assert "Snooze 15 min" in page
    assert "Acknowledge</button>" not in page
    assert 'value="resolve"' not in page
    assert status == 403
    assert "This link does not allow to resolve the incident." in refused
    assert (await desk.incident(incident.id)).status is IncidentStatus.TRIGGERED


async def test_resolve_tells_everyone_paged_and_then_says_who_resolved_it(desk: Desk) -> None:
    incident = await desk.open()
    url = desk.link(incident, "alice")
    desk.clock.advance(timedelta(minutes=2))

    status, page = await desk.post(url, action="resolve")
    await desk.settle()
    again_status, again = await desk.post(url, action="resolve")

    assert status == 303
    assert "You resolved it" in page
    resolved = await desk.incident(incident.id)
    assert (resolved.status, resolved.resolved_by) == (IncidentStatus.RESOLVED, "alice")
    assert await kinds(desk, incident.id, TimelineKind.RESOLVED) == [("alice", "resolved by alice")]
    assert desk.people("resolved") == ["alice"]
    assert again_status == 200
    assert "Already resolved by Alice at 2026-03-02 12:02:00 UTC." in again
    assert desk.people("resolved") == ["alice"]  # told once


async def test_escalate_now_pages_the_next_level_once_and_tells_the_others(desk: Desk) -> None:
    incident = await desk.open()
    await desk.advance(LEVEL_1_TIMEOUT)  # nobody acknowledged: bob and carol are paged
    assert desk.people() == ["alice", "bob", "carol"]
    url = desk.link(incident, "bob")
    page = await (await desk.client.get(url)).text()
    assert 'name="step" value="0:1"' in page
    assert "Escalate now: page level 1 (repeat 1)" in page
    desk.clock.advance(timedelta(minutes=1))

    status, shown = await desk.post(url, action="escalate", step="0:1")
    await desk.settle()
    again_status, again = await desk.post(url, action="escalate", step="0:1")
    await desk.settle()

    assert status == 303
    assert "You escalated it" in shown
    # Her first page and the repeat, by mail and webhook.
    repeat = sorted(p for p in desk.sent() if p[0] == "alice")
    assert repeat == [("alice", 1, "hook")] * 2 + [("alice", 1, "mail")] * 2
    assert await kinds(desk, incident.id, TimelineKind.ESCALATED_BY_HAND) == [
        ("bob", "escalated to level 1 (repeat 1) by Bob")
    ]
    assert desk.people("escalated") == ["alice", "carol"]
    assert again_status == 200
    assert "Already escalated: level 1 (repeat 1) was paged." in again
    # The level-2 timer that was pending finds the escalation made and records none of its
    # own; the repeat's own timer escalates on from there as usual.
    await desk.advance(timedelta(minutes=10))
    story = await desk.store.timeline(incident.id)
    timed = [(e.level, e.round) for e in story if e.kind is TimelineKind.ESCALATED]
    assert timed == [(2, 0), (2, 1)]
    assert sorted(p for p in desk.sent() if p[0] == "alice") == repeat


async def test_a_snooze_pages_again_when_it_ends_not_before(desk: Desk) -> None:
    incident = await desk.open()
    await desk.advance(LEVEL_1_TIMEOUT)
    url = desk.link(incident, "bob")

    status, page = await desk.post(url, action="snooze", minutes="15")
    await desk.settle()
    snoozed = await desk.incident(incident.id)
    again_status, again = await desk.post(url, action="snooze", minutes="30")

    assert status == 303
    assert "Snoozed by Bob until 2026-03-02 12:20:00 UTC" in page
    assert (snoozed.status, snoozed.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "bob")
    assert await kinds(desk, incident.id, TimelineKind.SNOOZED) == [
        ("bob", "until 2026-03-02T12:20:00+00:00")
    ]
    assert desk.people("snoozed") == ["alice", "carol"]
    assert again_status == 200
    assert "Already snoozed by you until 2026-03-02 12:20:00 UTC." in again
    pages = desk.sent()

    await desk.advance(timedelta(minutes=15) - timedelta(seconds=1))
    assert desk.sent() == pages
    await desk.advance(timedelta(seconds=1))

    back = await desk.incident(incident.id)
    assert (back.status, back.acknowledged_by, back.page_epoch) == (
        IncidentStatus.TRIGGERED,
        None,
        1,
    )
    assert await kinds(desk, incident.id, TimelineKind.RETRIGGERED) == [
        (None, "snooze by Bob ended")
    ]
    # A new paging run from level 1.
    assert desk.sent_since(pages) == [("alice", 1, "hook"), ("alice", 1, "mail")]


async def test_acknowledging_during_a_snooze_keeps_it_quiet(desk: Desk) -> None:
    incident = await desk.open()
    await desk.post(desk.link(incident, "alice"), action="snooze", minutes="15")
    await desk.settle()
    page = await (await desk.client.get(desk.link(incident, "alice"))).text()
    assert "Acknowledge</button>" in page  # for good
    await desk.post(desk.link(incident, "alice"))
    pages = desk.sent()

    await desk.advance(timedelta(minutes=16))

    after = await desk.incident(incident.id)
    assert (after.status, after.snoozed_until) == (IncidentStatus.ACKNOWLEDGED, None)
    assert desk.sent() == pages


async def test_reassign_pages_the_new_owner_with_their_own_link(desk: Desk) -> None:
    incident = await desk.open()
    await desk.advance(LEVEL_1_TIMEOUT)
    url = desk.link(incident, "bob")

    status, page = await desk.post(url, action="reassign", to="alice")
    await desk.settle()
    again_status, again = await desk.post(url, action="reassign", to="alice")
    await desk.settle()

    assert status == 303
    assert "Handed to Alice by Bob; not acknowledged yet." in page
    after = await desk.incident(incident.id)
    assert (after.status, after.assigned_to, after.acknowledged_by) == (
        IncidentStatus.TRIGGERED,
        "alice",
        None,
    )
    assigned = [n for n in desk.mail.delivered + desk.hook.delivered if n.kind == "assigned"]
    assert sorted(n.person for n in assigned) == ["alice", "alice"]  # mail and webhook
    assert all(n.by == "Bob" and n.ack_url and "/ack/v2." in n.ack_url for n in assigned)
    assert desk.people("reassigned") == ["carol"]
    assert await kinds(desk, incident.id, TimelineKind.REASSIGNED) == [("bob", "to alice")]
    assert again_status == 200
    assert "Already handed to Alice by Bob at 2026-03-02 12:05:00 UTC." in again
    assert len(assigned) == 2


async def test_reassigning_to_someone_outside_the_policy_is_refused(desk: Desk) -> None:
    incident = await desk.open()

    status, page = await desk.post(desk.link(incident, "alice"), action="reassign", to="dave")

    assert status == 400
    assert "Nothing was done: &#x27;dave&#x27; is not a person of this incident" in page
    assert (await desk.incident(incident.id)).assigned_to is None


async def test_a_stored_stand_in_can_be_handed_the_incident(desk: Desk, redis: Redis) -> None:
    # Dave is in no level of the policy; standing in on its schedule puts him in it.
    now = desk.clock()
    dave = StoredOverride(
        id="",
        schedule="primary",
        person="dave",
        start=now,
        end=now + timedelta(hours=1),
        created_at=now,
    )
    await OverrideStore(redis).add(dave, now)
    incident = await desk.open()

    status, _ = await desk.post(desk.link(incident, "bob"), action="reassign", to="dave")

    assert status == 303
    assert (await desk.incident(incident.id)).assigned_to == "dave"


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"action": "snooze", "minutes": "7"}, "snooze for 15, 30, 60 minutes, not &#x27;7&#x27;"),
        ({"action": "explode"}, "unknown action &#x27;explode&#x27;"),
    ],
)
async def test_a_form_no_page_sends_is_a_clear_400(
    desk: Desk, form: dict[str, str], problem: str
) -> None:
    incident = await desk.open()
    status, page = await desk.post(desk.link(incident, "alice"), **form)
    assert status == 400
    assert problem in page
    assert (await desk.incident(incident.id)).status is IncidentStatus.TRIGGERED


async def test_an_acknowledgement_still_firing_after_ack_expiry_pages_again(desk: Desk) -> None:
    incident = await desk.open()
    await desk.post(desk.link(incident, "alice"))
    await desk.settle()
    pages = desk.sent()

    await desk.advance(timedelta(minutes=30) - timedelta(seconds=1))
    assert (await desk.incident(incident.id)).status is IncidentStatus.ACKNOWLEDGED
    await desk.advance(timedelta(seconds=1))

    back = await desk.incident(incident.id)
    assert (back.status, back.page_epoch) == (IncidentStatus.TRIGGERED, 1)
    [(_, detail)] = await kinds(desk, incident.id, TimelineKind.RETRIGGERED)
    assert detail == "acknowledgement by Alice expired after 30m, still firing"
    assert desk.sent_since(pages) == [("alice", 1, "hook"), ("alice", 1, "mail")]


@pytest.mark.parametrize("desk_routing", [routing(ack_expiry=0)])
async def test_ack_expiry_zero_keeps_an_acknowledgement(desk: Desk) -> None:
    incident = await desk.open()
    await desk.post(desk.link(incident, "alice"))
    await desk.advance(timedelta(days=1))
    assert (await desk.incident(incident.id)).status is IncidentStatus.ACKNOWLEDGED


async def test_a_link_works_until_the_grace_after_its_incident_resolved(desk: Desk) -> None:
    incident = await desk.open()
    url = desk.link(incident, "alice")
    await desk.store.resolve(incident.id, "bob", desk.clock(), retention=timedelta(days=1))

    desk.clock.advance(GRACE - timedelta(seconds=1))
    within = await desk.client.get(url)
    desk.clock.advance(timedelta(seconds=1))
    after = await desk.client.get(url)

    assert within.status == 200
    assert "Already resolved by Bob at 2026-03-02 12:00:00 UTC" in await within.text()
    assert after.status == 403
    assert "expired at 2026-03-02 13:00:00 UTC" in await after.text()


async def test_a_link_for_an_earlier_incident_with_the_same_id_is_refused(desk: Desk) -> None:
    incident = await desk.open()
    earlier = replace_created(incident, incident.created_at - timedelta(hours=3))
    url = desk.link(earlier, "alice")

    for response in (await desk.client.get(url), await desk.client.post(url, headers=BROWSER)):
        assert response.status == 403
        assert "made for an earlier incident" in await response.text()
    assert (await desk.incident(incident.id)).status is IncidentStatus.TRIGGERED


def replace_created(incident: Incident, created_at: datetime) -> Incident:
    return incident.model_copy(update={"created_at": created_at})
