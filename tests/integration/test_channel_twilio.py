"""SMS and voice calls against a local Twilio: the requests Twilio takes, the call's menu, and
how each refusal is read."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.channels import Delivery, DeliveryResult, Notification, carries
from notifier.channels.twilio import SmsChannel, VoiceChannel
from notifier.config import Person, TwilioConfig
from notifier.sending import Links
from notifier.signing import (
    Action,
    StatusClaims,
    action_url,
    link_token,
    verify_link,
    verify_status,
)
from router.config import Severity
from router.models import IncidentStatus
from tests.conftest import ManualClock
from tests.integration.chat_peers import serving
from tests.integration.twilio_peer import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    INVALID,
    MESSAGING_SERVICE_SID,
    SLOW,
    TwilioPeer,
    gathers,
)

PUBLIC_URL = "https://tocsin.example.com"
SECRET = b"twilio-test-link-secret-0123456789"
CREATED = datetime(2026, 3, 2, 11, 58, tzinfo=UTC)
PAGE = Notification(
    kind="page",
    incident_id="12",
    title="Checkout errors <b> & timeouts",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="alice",
    person_name="Alice",
    ack_url=action_url(PUBLIC_URL, SECRET, "12", CREATED, "alice"),
)
ALICE = Person(name="Alice", phone="+4915112345678", phone_methods=["sms", "voice"])


@pytest.fixture
async def twilio() -> AsyncIterator[tuple[TwilioPeer, TestServer]]:
    peer = TwilioPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, server


def account(server: TestServer, **changes: object) -> TwilioConfig:
    fields: dict[str, object] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from": FROM,
        "base_url": str(server.make_url("")),
        "timeout": timedelta(seconds=5),
    }
    return TwilioConfig.model_validate({**fields, **changes})


def voice(config: TwilioConfig) -> VoiceChannel:
    return VoiceChannel(config, Links(PUBLIC_URL, SECRET))


def sms(config: TwilioConfig) -> SmsChannel:
    return SmsChannel(config, Links(PUBLIC_URL, SECRET))


async def send(
    channel: SmsChannel | VoiceChannel, person: Person = ALICE, note: Notification = PAGE
) -> DeliveryResult:
    try:
        return await channel.send(person, note)
    finally:
        await channel.aclose()


async def test_an_sms_carries_the_headline_and_the_whole_ack_link(
    twilio: tuple[TwilioPeer, TestServer],
) -> None:
    peer, server = twilio

    result = await send(sms(account(server)))

    assert result.ok, result.detail
    assert result.detail.startswith("HTTP 201 Created: SM")
    assert result.detail.endswith("queued")
    [message] = peer.messages
    assert (message["To"], message["From"]) == ("+4915112345678", FROM)
    # The title gives way to the whole link, in one 160-character segment.
    body = message["Body"]
    assert body.startswith("[SEV1] Tocsin #12: Checkout errors <b> & t")
    assert body.endswith(f"... - ack: {PAGE.ack_url}")
    assert len(body) <= 160


async def test_an_sms_goes_through_the_messaging_service_when_there_is_one(
    twilio: tuple[TwilioPeer, TestServer],
) -> None:
    peer, server = twilio
    config = account(server, messaging_service_sid=MESSAGING_SERVICE_SID)

    result = await send(sms(config))

    assert result.ok, result.detail
    [message] = peer.messages
    assert message["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert "From" not in message


async def test_a_call_reads_the_page_and_gathers_1_at_a_signed_url(
    twilio: tuple[TwilioPeer, TestServer], clock: ManualClock
) -> None:
    peer, server = twilio

    result = await send(voice(account(server)))

    assert result.ok, result.detail
    assert result.detail.startswith("HTTP 201 Created: CA")
    [call] = peer.calls
    assert (call["To"], call["From"]) == ("+4915112345678", FROM)
    first, again = gathers(call["Twiml"])
    prompt = first.findtext("Say") or ""
    assert "Severity 1. Incident 12: Checkout errors <b> & timeouts." in prompt
    assert "Alice, you are paged" in prompt
    assert prompt.endswith("Press 1 to acknowledge.")
    action = first.get("action") or ""
    # The page's own link: the same incident, person and actions, acknowledge among them.
    assert action == f"{PUBLIC_URL}/twilio/gather/{link_token(PAGE.ack_url or '')}"
    claims = verify_link(SECRET, action.rpartition("/")[2], clock())
    assert (claims.incident_id, claims.person, claims.created_at) == ("12", "alice", CREATED)
    assert Action.ACKNOWLEDGE in claims.actions
    assert again.get("action") == f"{action}?retry=1"


async def test_a_page_without_an_ack_link_is_read_without_a_menu(
    twilio: tuple[TwilioPeer, TestServer], clock: ManualClock
) -> None:
    peer, server = twilio
    note = PAGE.model_copy(update={"ack_url": None, "title": "Tocsin could not process"})

    result = await send(voice(account(server)), note=note)

    assert result.ok, result.detail
    [call] = peer.calls
    assert gathers(call["Twiml"]) == []
    assert call["Twiml"].count("Tocsin could not process") == 2


@pytest.mark.parametrize(
    ("changes", "to", "retryable", "detail"),
    [
        ({}, "+4915100000429", True, "HTTP 429 Too Many Requests, retry after 30s: Twilio error"),
        ({}, "+4915100000503", True, "HTTP 503 Service Unavailable: Twilio error 20500"),
        ({}, INVALID, False, "HTTP 400 Bad Request: Twilio error 21211: Invalid 'To'"),
        (
            {"auth_token": "revoked-token"},
            "+4915112345678",
            False,
            "HTTP 401 Unauthorized: Twilio error 20003: Authenticate",
        ),
        (
            {"account_sid": "AC" + "9" * 32},
            "+4915112345678",
            False,
            "HTTP 401 Unauthorized: Twilio error 20003",
        ),
    ],
    ids=["429", "503", "invalid To", "bad auth token", "another account"],
)
@pytest.mark.parametrize("by", ["sms", "voice"])
async def test_what_twilio_refuses(
    twilio: tuple[TwilioPeer, TestServer],
    clock: ManualClock,
    changes: dict[str, str],
    to: str,
    retryable: bool,
    detail: str,
    by: str,
) -> None:
    peer, server = twilio
    config = account(server, **changes)
    channel = sms(config) if by == "sms" else voice(config)
    person = Person(name="Alice", phone=to, phone_methods=["sms", "voice"])

    result = await send(channel, person)

    assert (result.ok, result.retryable) == (False, retryable)
    assert result.detail.startswith(detail), result.detail
    assert "auth-token" not in result.detail
    assert (peer.messages, peer.calls) == ([], [])


async def test_a_twilio_that_does_not_answer_in_time_is_retryable(
    twilio: tuple[TwilioPeer, TestServer],
) -> None:
    _, server = twilio
    slow = Person(name="Alice", phone=SLOW)

    result = await send(sms(account(server, timeout=timedelta(milliseconds=50))), slow)

    assert (result.ok, result.retryable) == (False, True)
    assert result.detail.startswith("TimeoutError")


async def test_a_base_url_that_is_not_twilio_is_not_retried(
    twilio: tuple[TwilioPeer, TestServer],
) -> None:
    _, server = twilio
    elsewhere = account(server, base_url=str(server.make_url("/2010-04-01/Accounts/x")))

    result = await send(sms(elsewhere))

    assert (result.ok, result.retryable) == (False, False)
    assert result.detail.startswith("HTTP 404")


async def test_an_answer_of_something_else_than_twilio_is_not_delivered() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", status=201)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hello)
    async with serving(app, TwilioPeer().hold) as server:
        result = await send(sms(account(server)))

    assert (result.ok, result.retryable) == (False, False)
    assert "not a Twilio API answer" in result.detail


def test_each_channel_reaches_the_methods_a_person_chose() -> None:
    config = TwilioConfig.model_validate(
        {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from": FROM}
    )
    texts, call = sms(config), voice(config)
    texted = Person(name="A", phone="+4915112345678")
    called = Person(name="B", phone="+4915112345678", phone_methods=["voice"])
    assert (texts.reaches(texted), call.reaches(texted)) == (True, False)
    assert (texts.reaches(called), call.reaches(called)) == (False, True)
    assert not texts.reaches(Person(name="C", email="c@example.com"))
    assert carries(texts, "resolved")
    assert carries(call, "page")
    assert not carries(call, "resolved")
    assert not carries(call, "acknowledged")


@pytest.mark.parametrize("by", ["sms", "voice"])
async def test_a_page_asks_for_twilios_status_signed_for_its_delivery(
    twilio: tuple[TwilioPeer, TestServer], by: str
) -> None:
    peer, server = twilio
    channel = sms(account(server)) if by == "sms" else voice(account(server))
    delivery = Delivery(tag="page:e2:1:0", created_at=CREATED)

    result = await send(channel, note=PAGE.model_copy(update={"delivery": delivery}))

    assert result.ok, result.detail
    [created] = peer.messages if by == "sms" else peer.calls
    callback = created["StatusCallback"]
    assert callback.startswith(f"{PUBLIC_URL}/twilio/status/s1.")
    claims = verify_status(SECRET, callback.rpartition("/")[2])
    assert claims == StatusClaims("12", CREATED, "alice", by, "page:e2:1:0")


async def test_a_notice_or_a_page_of_no_incident_asks_for_no_status(
    twilio: tuple[TwilioPeer, TestServer],
) -> None:
    peer, server = twilio
    delivery = Delivery(tag="e1:resolved", created_at=CREATED)
    notice = PAGE.model_copy(update={"kind": "resolved", "delivery": delivery})

    assert (await send(sms(account(server)), note=notice)).ok
    assert (await send(sms(account(server)))).ok  # "could not process": no delivery

    assert ["StatusCallback" in m for m in peer.messages] == [False, False]
