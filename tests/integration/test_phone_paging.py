"""The service pages by phone through a local Twilio: an alert in, an SMS and a call out, 1
pressed on the call acknowledges, and the notices after it go by SMS, never by a call."""

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from router.models import IncidentStatus, TimelineKind
from router.store import IncidentStore
from tests.e2e.conftest import alertmanager_payload, eventually, every_role
from tests.integration.chat_peers import serving
from tests.integration.twilio_peer import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    TwilioPeer,
    gathers,
    press,
    report,
)
from tocsin.service import Running

ALICE, BOB = "+4915112345678", "+4915187654321"


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[TwilioPeer, TestServer]]:
    peer = TwilioPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, server


@pytest.fixture
async def service(
    tmp_path: Path,
    redis: Redis,
    valkey_url: str,
    twilio: tuple[TwilioPeer, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Running]:
    _, server = twilio
    monkeypatch.setenv("TOCSIN_TEST_TWILIO_TOKEN", AUTH_TOKEN)
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        f"""
integrations: [{{name: prod-am, type: alertmanager, token: s3cret}}]
twilio:
  account_sid: {ACCOUNT_SID}
  auth_token: env:TOCSIN_TEST_TWILIO_TOKEN
  from: "{FROM}"
  base_url: "{server.make_url("")}"
people:
  alice: {{name: Alice, phone: "{ALICE}", phone_methods: [sms, voice]}}
  bob: {{name: Bob, phone: "{BOB}"}}
escalation_policies:
  p: {{levels: [{{targets: [person:alice, person:bob], ack_timeout: 5m}}]}}
routes: [{{policy: p}}]
"""
    )
    async with every_role(config, redis, valkey_url) as svc:
        yield svc


async def test_a_call_acknowledges_and_notices_go_by_sms_only(
    service: Running, redis: Redis, twilio: tuple[TwilioPeer, TestServer]
) -> None:
    peer, _ = twilio

    def texts_to(number: str) -> list[str]:
        return [m["Body"] for m in peer.messages if m["To"] == number]

    async with aiohttp.ClientSession() as http:
        hook = f"{service.url}/v1/webhooks/alertmanager/s3cret"
        async with http.post(hook, json=alertmanager_payload("firing")) as response:
            assert response.status == 202
        await eventually(lambda: len(peer.messages) == 2 and len(peer.calls) == 1, what="pages")

        [call] = peer.calls
        assert call["To"] == ALICE
        [sms_to_bob] = texts_to(BOB)
        assert sms_to_bob.startswith("[SEV2] Tocsin #1: p99 latency above 2s on payments - ack: ")
        assert f" - ack: {service.url}/ack/v2." in sms_to_bob
        first, _ = gathers(call["Twiml"])
        assert (first.get("action") or "").startswith(f"{service.url}/twilio/gather/v2.")

        status, answer = await press(http, first, "1")

        assert (status, "Acknowledged. Thank you." in answer) == (200, True)
        [incident] = await IncidentStore(redis).list()
        assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")
        await eventually(lambda: len(texts_to(BOB)) == 2, what="Bob told Alice has it")
        assert texts_to(BOB)[1].startswith(f"[ACKNOWLEDGED] Tocsin #{incident.id}")

        async with http.post(hook, json=alertmanager_payload("resolved")) as response:
            assert response.status == 202
        await eventually(lambda: len(peer.messages) == 5, what="resolved notices")
        assert texts_to(ALICE)[-1].startswith(f"[RESOLVED] Tocsin #{incident.id}")
        assert len(peer.calls) == 1


async def test_a_text_twilio_could_not_deliver_is_a_failed_page(
    service: Running, redis: Redis, twilio: tuple[TwilioPeer, TestServer]
) -> None:
    peer, _ = twilio
    store = IncidentStore(redis)
    async with aiohttp.ClientSession() as http:
        hook = f"{service.url}/v1/webhooks/alertmanager/s3cret"
        async with http.post(hook, json=alertmanager_payload("firing")) as response:
            assert response.status == 202
        await eventually(lambda: len(peer.messages) == 2, what="pages")
        [to_bob] = [m for m in peer.messages if m["To"] == BOB]
        assert to_bob["StatusCallback"].startswith(f"{service.url}/twilio/status/s1.")

        assert await report(http, to_bob, "undelivered", error_code="30006") == 204

        [incident] = await store.list()
        story = await store.timeline(incident.id)
        failed = [e for e in story if e.kind is TimelineKind.PAGE_FAILED]
        assert [(e.person, e.channel, e.detail) for e in failed] == [
            ("bob", "sms", "Twilio: undelivered (error 30006)")
        ]
