"""The key pressed during a voice page, as Twilio posts it, against a real store: only a
request Twilio signed acts, 1 acknowledges as the paged person, anything else is asked about
once more. Tocsin's public URL is not the address the test reaches it at, as behind a proxy:
Twilio signs the URL it was given."""

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
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


@dataclass
class Line:
    """An incident, and Twilio's way to the callbacks of the calls that page it."""

    server: TestServer
    http: aiohttp.ClientSession
    store: IncidentStore
    clock: ManualClock
    incident: Incident

    def call(self, person: str = "alice") -> list[ET.Element]:
        """The gathers of the call a page to ``person`` places."""
        claims = AckClaims(self.incident.id, person, self.clock() + timedelta(hours=1))
        token = sign_ack(SECRET, claims)
        note = Notification(
            kind="page",
            incident_id=self.incident.id,
            title=self.incident.title,
            severity=self.incident.severity,
            status=self.incident.status,
            level=1,
            person=person,
            person_name=person.title(),
            ack_url=f"{PUBLIC_URL}/ack/{token}",
        )
        return gathers(call_twiml(note, PUBLIC_URL, token))

    async def press(
        self, gather: ET.Element, digits: str, *, at: ET.Element | None = None, **signing: str
    ) -> tuple[int, str]:
        """Press at ``gather``, through the proxy; ``at``: post to another gather's
        address."""
        return await press(
            self.http, gather, digits, url=self.behind_the_proxy(at or gather), **signing
        )

    def behind_the_proxy(self, gather: ET.Element) -> str:
        action = gather.get("action") or ""
        return str(self.server.make_url(action.removeprefix(PUBLIC_URL)))

    async def now(self) -> Incident:
        stored = await self.store.get(self.incident.id)
        assert stored is not None
        return stored


@pytest.fixture
async def line(
    server: TestServer, store: IncidentStore, clock: ManualClock, incident: Incident
) -> AsyncIterator[Line]:
    async with aiohttp.ClientSession() as http:
        yield Line(server, http, store, clock, incident)


def said(twiml: str) -> list[tuple[str, str | None]]:
    return [(verb.tag, verb.text) for verb in ET.fromstring(twiml)]


async def test_pressing_1_acknowledges_as_the_paged_person(line: Line) -> None:
    first, _ = line.call()
    line.clock.advance(timedelta(minutes=2))

    status, twiml = await line.press(first, "1")

    assert status == 200
    assert said(twiml) == [("Say", "Acknowledged. Thank you."), ("Hangup", None)]
    stored = await line.now()
    assert stored.status is IncidentStatus.ACKNOWLEDGED
    assert (stored.acknowledged_by, stored.acknowledged_at) == ("alice", line.clock())
    last = (await line.store.timeline(stored.id))[-1]
    assert (last.kind, last.person) == (TimelineKind.ACKNOWLEDGED, "alice")


@pytest.mark.parametrize("auth_token", ["another-account-token", ""])
async def test_a_request_twilio_did_not_sign_is_refused(line: Line, auth_token: str) -> None:
    first, _ = line.call()

    status, _ = await line.press(first, "1", auth_token=auth_token)

    assert status == 403
    assert (await line.now()).status is IncidentStatus.TRIGGERED


async def test_a_request_without_a_signature_is_refused(line: Line) -> None:
    first, _ = line.call()

    async with line.http.post(line.behind_the_proxy(first), data={"Digits": "1"}) as response:
        assert response.status == 403


async def test_the_signature_covers_the_url_so_another_token_is_refused(line: Line) -> None:
    [alices, _], [bobs, _] = line.call(), line.call("bob")

    # Alice's signed request replayed at Bob's address.
    status, _ = await line.press(alices, "1", at=bobs)

    assert status == 403
    assert (await line.now()).acknowledged_by is None


async def test_another_key_asks_once_more_then_hangs_up(line: Line) -> None:
    first, _ = line.call()

    status, twiml = await line.press(first, "2")

    assert status == 200
    [again] = gathers(twiml)
    assert again.get("action") == f"{first.get('action')}?retry=1"
    assert again.findtext("Say") == f"Press 1 to acknowledge incident {line.incident.id}."
    status, twiml = await line.press(again, "2")
    assert status == 200
    assert said(twiml) == [("Say", "Not acknowledged. Goodbye."), ("Hangup", None)]
    assert (await line.now()).status is IncidentStatus.TRIGGERED


async def test_1_at_the_second_prompt_acknowledges(line: Line) -> None:
    _, again = line.call()

    status, twiml = await line.press(again, "1")

    assert (status, said(twiml)[0]) == (200, ("Say", "Acknowledged. Thank you."))
    assert (await line.now()).acknowledged_by == "alice"


async def test_an_incident_resolved_or_taken_meanwhile_is_said_so(line: Line) -> None:
    [alices, _], [bobs, _] = line.call(), line.call("bob")
    incident_id = line.incident.id
    await line.store.acknowledge(incident_id, "bob", line.clock())

    _, taken = await line.press(alices, "1")
    await line.store.resolve(incident_id, "bob", line.clock(), retention=timedelta(days=1))
    _, resolved = await line.press(bobs, "1")

    assert said(taken)[0] == ("Say", f"Incident {incident_id} was already acknowledged.")
    assert said(resolved)[0] == ("Say", f"Incident {incident_id} is already resolved. Goodbye.")
    assert (await line.now()).acknowledged_by == "bob"


async def test_an_expired_call_acknowledges_nothing(line: Line) -> None:
    first, _ = line.call()
    line.clock.advance(timedelta(hours=1))

    status, twiml = await line.press(first, "1")

    assert status == 200
    assert "expired" in (said(twiml)[0][1] or "")
    assert (await line.now()).status is IncidentStatus.TRIGGERED
