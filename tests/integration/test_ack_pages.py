import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier.ack_web import AckPages, add_routes
from notifier.config import Person
from notifier.directory import Directory
from notifier.page_actions import PageActions
from notifier.signing import AckClaims, sign_ack
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.models import Incident, IncidentStatus, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.timers import Timers

SECRET = b"ack-page-test-secret-0123456789"
ROUTING = RoutingConfig(
    routes=[Route(policy="default", group_by=["service"], service="Orders <DB>")],
    severity=[SeverityRule(match={"severity": "critical"}, level=Severity.SEV1)],
)
PEOPLE = {"alice": Person(name="Alice Smith"), "bob": Person(name="Bob <B>")}
GRACE = timedelta(hours=1)

AckClient = TestClient[web.Request, web.Application]


@pytest.fixture
def store(redis: Redis) -> IncidentStore:
    return IncidentStore(redis)


@pytest.fixture
async def client(store: IncidentStore, clock: ManualClock) -> AsyncIterator[AckClient]:
    app = web.Application()
    directory = Directory(people=PEOPLE)
    actions = PageActions(store, directory, Timers(clock), retention=timedelta(days=1))
    add_routes(app, AckPages(actions, SECRET, clock, grace=GRACE))
    client: AckClient = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def fire(
    store: IncidentStore,
    clock: ManualClock,
    summary: str,
    status: AlertStatus = AlertStatus.FIRING,
    key: str = "disk",
) -> Incident:
    alert = Alert(
        dedup_key=key,
        status=status,
        summary=summary,
        labels={"service": "db", "severity": "critical", "host": "db-1"},
        integration="test",
        source="generic",
        received_at=clock(),
    )
    change = await store.apply_alert(alert, ROUTING)
    assert change.incident_id is not None
    incident = await store.get(change.incident_id)
    assert incident is not None
    return incident


@pytest.fixture
async def incident(store: IncidentStore, clock: ManualClock) -> Incident:
    await fire(store, clock, "Disk <b>full</b> on db-1")
    return await fire(store, clock, "Disk <b>full</b> on db-1")


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
"""What a browser asks for when it submits the form."""


def link(clock: ManualClock, incident_id: str, person: str = "alice") -> str:
    claims = AckClaims(incident_id, person, clock() + timedelta(minutes=30))
    return f"/ack/{sign_ack(SECRET, claims)}"


async def test_get_shows_the_incident_and_changes_nothing(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    before = await store.get(incident.id)

    response = await client.get(link(clock, incident.id))

    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"
    page = await response.text()
    assert f"Incident #{incident.id}: Disk &lt;b&gt;full&lt;/b&gt; on db-1" in page
    assert "<b>full</b>" not in page
    assert "SEV1" in page
    assert "triggered" in page
    assert "<span>Orders &lt;DB&gt;</span>" in page  # the route's service, as text
    assert "host=db-1" in page
    assert "<td>2</td>" in page  # the alert fired twice
    assert re.search(r'<form method="post"><button type="submit">Acknowledge</button>', page)
    assert "Acknowledging as Alice Smith" in page
    assert await store.get(incident.id) == before


async def test_pages_forbid_caching_framing_and_referrers(
    client: AckClient, clock: ManualClock, incident: Incident
) -> None:
    for response in (
        await client.get(link(clock, incident.id)),
        await client.get("/ack/v1.bad.token"),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_post_acknowledges_then_shows_who_and_when(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    url = link(clock, incident.id)
    clock.advance(timedelta(minutes=4))

    response = await client.post(url, allow_redirects=False, headers=BROWSER)

    assert response.status == 303
    assert response.headers["Location"] == url.removeprefix("/ack/") + "?done=acknowledge"
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.ACKNOWLEDGED
    assert (stored.acknowledged_by, stored.acknowledged_at) == ("alice", clock())
    last = (await store.timeline(incident.id))[-1]
    assert (last.kind, last.person, last.at) == (TimelineKind.ACKNOWLEDGED, "alice", clock())

    page = await (await client.get(url + "?done=acknowledge")).text()
    assert "You acknowledged it: paging has stopped." in page
    assert "Acknowledged by Alice Smith at 2026-03-02 12:04:00 UTC" in page
    assert "<form" not in page  # a v1 link only acknowledges


async def test_second_post_is_idempotent(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    alice, bob = link(clock, incident.id), link(clock, incident.id, "bob")
    first = await client.post(alice, headers=BROWSER)
    acknowledged = await store.get(incident.id)
    clock.advance(timedelta(minutes=1))

    again = await client.post(alice, headers=BROWSER)
    other = await client.post(bob, headers=BROWSER)

    assert (first.status, again.status, other.status) == (200, 200, 200)
    assert await store.get(incident.id) == acknowledged
    for response in (first, again, other):
        assert "Acknowledged by Alice Smith at 2026-03-02 12:00:00 UTC" in await response.text()


async def test_an_incident_resolved_by_hand_says_who(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    url = link(clock, incident.id)
    await store.resolve(incident.id, "bob", clock(), retention=timedelta(days=1))

    page = await (await client.get(url)).text()

    assert "Already resolved by Bob &lt;B&gt; at 2026-03-02 12:00:00 UTC" in page


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_tampered_link_is_forbidden(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident, method: str
) -> None:
    url = link(clock, incident.id)
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")

    response = await client.request(method, tampered)

    assert response.status == 403
    assert (response.content_type, response.charset) == ("text/html", "utf-8")
    assert "This acknowledge link is not valid" in await response.text()
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.TRIGGERED


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_expired_link_is_forbidden(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident, method: str
) -> None:
    url = link(clock, incident.id)
    clock.advance(timedelta(minutes=30))

    response = await client.request(method, url)

    assert response.status == 403
    assert "expired at 2026-03-02 12:30:00 UTC" in await response.text()
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.TRIGGERED


async def test_a_script_gets_the_result_not_a_redirect(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    url = link(clock, incident.id)
    # As `curl -XPOST <link>` asks: followed with -L, a redirect would POST again, forever.
    response = await client.post(url, allow_redirects=False, headers={"Accept": "*/*"})

    assert response.status == 200
    assert await response.json() == {
        "incident": incident.id,
        "action": "acknowledge",
        "changed": True,
        "message": "Acknowledged: paging has stopped.",
        "status": "acknowledged",
        "acknowledged_by": "alice",
        "acknowledged_at": "2026-03-02T12:00:00+00:00",
    }
    again = await (await client.post(url, headers={"Accept": "*/*"})).json()
    assert (again["acknowledged_by"], again["changed"]) == ("alice", False)
    assert again["message"] == "Already acknowledged by Alice Smith at 2026-03-02 12:00:00 UTC."


async def test_resolved_incident_says_so(
    client: AckClient, store: IncidentStore, clock: ManualClock, incident: Incident
) -> None:
    url = link(clock, incident.id)
    clock.advance(timedelta(minutes=2))
    await fire(store, clock, "Disk <b>full</b> on db-1", AlertStatus.RESOLVED)

    posted = await client.post(url)
    shown = await client.get(url)

    assert (posted.status, shown.status) == (409, 200)
    for response in (posted, shown):
        page = await response.text()
        assert "Already resolved at 2026-03-02 12:02:00 UTC" in page
        assert "<form" not in page
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.RESOLVED
    assert stored.acknowledged_by is None


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_missing_incident_is_not_found(
    client: AckClient, clock: ManualClock, method: str
) -> None:
    response = await client.request(method, link(clock, "999"))
    assert response.status == 404
    assert "Incident #999 no longer exists" in await response.text()


@pytest.mark.parametrize(
    ("person", "shown"), [("bob", "Bob &lt;B&gt;"), ("carol", "carol")], ids=["known", "unknown"]
)
async def test_person_is_shown_by_name_else_by_id(
    client: AckClient, clock: ManualClock, incident: Incident, person: str, shown: str
) -> None:
    page = await (await client.get(link(clock, incident.id, person))).text()
    assert f"Acknowledging as {shown} stops" in page
