"""The key pressed during a voice page, as Twilio posts it, against a real store: only a
request Twilio signed acts, 1 acknowledges as the paged person, anything else is asked about
once more. Tocsin's public URL is not the address the test reaches it at, as behind a proxy:
Twilio signs the URL it was given."""

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from notifier.channels import Notification
from notifier.signing import AckClaims, sign_ack
from notifier.twiml import call_twiml
from notifier.voice_web import GatherCallbacks, add_routes
from router.models import Incident, IncidentStatus, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.test_ack_pages import fire
from tests.integration.twilio_peer import AUTH_TOKEN, gathers, press

SECRET = b"voice-gather-test-secret-0123456789"
PUBLIC_URL = "https://tocsin.example.com/oncall"


@pytest.fixture
def store(redis: Redis) -> IncidentStore:
    return IncidentStore(redis)


@pytest.fixture
async def incident(store: IncidentStore, clock: ManualClock) -> Incident:
    return await fire(store, clock, "Disk full on db-1")


@pytest.fixture
async def server(store: IncidentStore, clock: ManualClock) -> AsyncIterator[TestServer]:
    app = web.Application()
    add_routes(app, GatherCallbacks(store, SECRET, clock, AUTH_TOKEN, PUBLIC_URL))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def call(incident: Incident, clock: ManualClock, person: str = "alice") -> list[ET.Element]:
    """The gathers of the call a page to ``person`` places."""
    token = sign_ack(SECRET, AckClaims(incident.id, person, clock() + timedelta(hours=1)))
    note = Notification(
        kind="page",
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        level=1,
        person=person,
        person_name=person.title(),
        ack_url=f"{PUBLIC_URL}/ack/{token}",
    )
    return gathers(call_twiml(note, PUBLIC_URL, token))


def behind_the_proxy(server: TestServer, gather: ET.Element) -> str:
    action = gather.get("action") or ""
    return str(server.make_url(action.removeprefix(PUBLIC_URL)))


def said(twiml: str) -> list[tuple[str, str | None]]:
    return [(verb.tag, verb.text) for verb in ET.fromstring(twiml)]


async def test_pressing_1_acknowledges_as_the_paged_person(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    first, _ = call(incident, clock)
    clock.advance(timedelta(minutes=2))

    status, twiml = await press(http, first, "1", url=behind_the_proxy(server, first))

    assert status == 200
    assert said(twiml) == [("Say", "Acknowledged. Thank you."), ("Hangup", None)]
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.ACKNOWLEDGED
    assert (stored.acknowledged_by, stored.acknowledged_at) == ("alice", clock())
    last = (await store.timeline(incident.id))[-1]
    assert (last.kind, last.person) == (TimelineKind.ACKNOWLEDGED, "alice")


@pytest.mark.parametrize("auth_token", ["another-account-token", ""])
async def test_a_request_twilio_did_not_sign_is_refused(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
    auth_token: str,
) -> None:
    first, _ = call(incident, clock)

    status, _ = await press(
        http, first, "1", auth_token=auth_token, url=behind_the_proxy(server, first)
    )

    assert status == 403
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.TRIGGERED


async def test_the_signature_covers_the_url_so_another_token_is_refused(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    [alices, _], [bobs, _] = call(incident, clock), call(incident, clock, "bob")

    # Alice's signed request replayed at Bob's address.
    status, _ = await press(http, alices, "1", url=behind_the_proxy(server, bobs))

    assert status == 403
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.acknowledged_by is None


async def test_another_key_asks_once_more_then_hangs_up(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    first, _ = call(incident, clock)

    status, twiml = await press(http, first, "2", url=behind_the_proxy(server, first))

    assert status == 200
    [again] = gathers(twiml)
    assert again.get("action") == f"{first.get('action')}?retry=1"
    assert again.findtext("Say") == f"Press 1 to acknowledge incident {incident.id}."
    status, twiml = await press(http, again, "2", url=behind_the_proxy(server, again))
    assert status == 200
    assert said(twiml) == [("Say", "Not acknowledged. Goodbye."), ("Hangup", None)]
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.TRIGGERED


async def test_1_at_the_second_prompt_acknowledges(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    _, again = call(incident, clock)

    status, twiml = await press(http, again, "1", url=behind_the_proxy(server, again))

    assert status == 200
    assert said(twiml)[0] == ("Say", "Acknowledged. Thank you.")
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.acknowledged_by == "alice"


async def test_an_incident_resolved_or_taken_meanwhile_is_said_so(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    [alices, _], [bobs, _] = call(incident, clock), call(incident, clock, "bob")
    await store.acknowledge(incident.id, "bob", clock())

    _, taken = await press(http, alices, "1", url=behind_the_proxy(server, alices))
    await store.resolve(incident.id, "bob", clock(), retention=timedelta(days=1))
    _, resolved = await press(http, bobs, "1", url=behind_the_proxy(server, bobs))

    assert said(taken)[0] == ("Say", f"Incident {incident.id} was already acknowledged.")
    assert said(resolved)[0] == ("Say", f"Incident {incident.id} is already resolved. Goodbye.")
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.acknowledged_by == "bob"


async def test_an_expired_call_acknowledges_nothing(
    server: TestServer,
    http: aiohttp.ClientSession,
    store: IncidentStore,
    clock: ManualClock,
    incident: Incident,
) -> None:
    first, _ = call(incident, clock)
    clock.advance(timedelta(hours=1))

    status, twiml = await press(http, first, "1", url=behind_the_proxy(server, first))

    assert status == 200
    assert "expired" in (said(twiml)[0][1] or "")
    stored = await store.get(incident.id)
    assert stored is not None
    assert stored.status is IncidentStatus.TRIGGERED


async def test_a_request_without_a_signature_is_refused(
    server: TestServer, http: aiohttp.ClientSession, clock: ManualClock, incident: Incident
) -> None:
    first, _ = call(incident, clock)

    async with http.post(behind_the_proxy(server, first), data={"Digits": "1"}) as response:
        assert response.status == 403
