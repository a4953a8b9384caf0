"""What Twilio reports after it took a page: the local Twilio texts and calls as Twilio does
and then posts their status to the callback each page asked for, signed, to the real web
handler behind a proxy's address; the notifier runs on a real store, its timers run as the
test moves the clock. A text that never arrived is a failure after all: on the timeline,
and, when nobody at the level was reached, the level escalates at once."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from notifier.channels.twilio import SmsChannel, VoiceChannel
from notifier.config import EscalationPolicy, Person, TwilioConfig
from notifier.directory import Directory
from notifier.paging import Pager
from notifier.rules import NotificationRules, RuleStep
from notifier.sending import Links
from notifier.twilio_status import StatusCallbacks, add_routes
from router.models import TimelineEvent, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.chat_peers import serving
from tests.integration.test_paging import RecordingChannel, level
from tests.integration.test_rules import opened
from tests.integration.timers import Timers
from tests.integration.twilio_peer import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    TwilioPeer,
    report,
    sign,
)

SECRET = b"twilio-status-test-secret-0123456789"
PUBLIC_URL = "https://tocsin.example.com/oncall"
ACK_TIMEOUT = timedelta(minutes=10)
ALICE, BOB = "+4915112345678", "+4915187654321"


@dataclass
class Line:
    """Paging by phone, and Twilio's way back to Tocsin."""

    pager: Pager
    store: IncidentStore
    timers: Timers
    clock: ManualClock
    twilio: TwilioPeer
    web: TestServer
    http: aiohttp.ClientSession
    slack: RecordingChannel

    def proxied(self, created: dict[str, str]) -> str:
        """Where the proxy in front of Tocsin forwards the callback to."""
        return str(self.web.make_url(created["StatusCallback"].removeprefix(PUBLIC_URL)))

    async def report(
        self,
        created: dict[str, str],
        status: str,
        *,
        error_code: str | None = None,
        auth_token: str = AUTH_TOKEN,
    ) -> int:
        """Twilio's report on a text or call it ``created``."""
        return await report(
            self.http,
            created,
            status,
            error_code=error_code,
            url=self.proxied(created),
            auth_token=auth_token,
        )

    async def settle(self) -> None:
        """Run the jobs the reports started."""
        await self.timers.run_until(self.pager, self.clock())

    async def events(self, incident_id: str, *kinds: TimelineKind) -> list[TimelineEvent]:
        return [e for e in await self.store.timeline(incident_id) if e.kind in kinds]


def directory(alice: Person) -> Directory:
    return Directory(
        people={
            "alice": alice,
            "bob": Person(name="Bob", phone=BOB, slack_user="U456"),
        },
        policies={
            "payments": EscalationPolicy(
                levels=[
                    level("person:alice", ack_timeout=ACK_TIMEOUT),
                    level("person:bob", ack_timeout=ACK_TIMEOUT),
                ]
            )
        },
    )


@pytest.fixture
async def line(redis: Redis, clock: ManualClock) -> AsyncIterator[Line]:
    twilio = TwilioPeer()
    async with serving(twilio.app(), twilio.hold) as api:
        config = TwilioConfig.model_validate(
            {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from": FROM,
                "base_url": str(api.make_url("")),
            }
        )
        links = Links(PUBLIC_URL, SECRET)
        store = IncidentStore(redis)
        timers = Timers(clock)
        slack = RecordingChannel("slack", lambda p: p.slack_target is not None)
        channels = [SmsChannel(config, links), VoiceChannel(config, links), slack]
        alice = Person(name="Alice", phone=ALICE, phone_methods=["sms", "voice"])
        pager = Pager(store, directory(alice), channels, links, timers, clock, CollectorRegistry())
        app = web.Application()
        add_routes(app, StatusCallbacks(store, timers, SECRET, clock, AUTH_TOKEN, PUBLIC_URL))
        async with serving(app, twilio.hold) as tocsin, aiohttp.ClientSession() as http:
            yield Line(pager, store, timers, clock, twilio, tocsin, http, slack)
        for channel in channels:
            await channel.aclose()


async def test_nobody_reached_at_a_level_escalates_at_once(line: Line) -> None:
    incident_id = await opened(line.store, line.clock)
    await line.pager.open(incident_id)
    [text] = line.twilio.messages
    [call] = line.twilio.calls
    assert (text["To"], call["To"]) == (ALICE, ALICE)
    line.clock.advance(timedelta(minutes=1))

    assert await line.report(text, "undelivered", error_code="30003") == 204
    await line.settle()
    # One way failed, the call may still have reached her: no escalation yet.
    assert [m["To"] for m in line.twilio.messages] == [ALICE]
    assert await line.report(call, "no-answer") == 204
    await line.settle()

    failed = await line.events(incident_id, TimelineKind.PAGE_FAILED)
    assert [(e.person, e.channel, e.level, e.detail) for e in failed] == [
        ("alice", "sms", 1, "Twilio: undelivered (error 30003)"),
        ("alice", "voice", 1, "Twilio: no-answer"),
    ]
    [unreachable] = await line.events(incident_id, TimelineKind.UNREACHABLE)
    assert (unreachable.person, unreachable.detail) == ("alice", "every way failed: sms, voice")
    [escalated] = await line.events(incident_id, TimelineKind.ESCALATED)
    assert (escalated.level, escalated.detail) == (2, "nobody at level 1 could be reached")
    assert [m["To"] for m in line.twilio.messages] == [ALICE, BOB]  # nine minutes early


async def test_a_report_repeated_counts_once_and_delivered_changes_nothing(line: Line) -> None:
    incident_id = await opened(line.store, line.clock)
    await line.pager.open(incident_id)
    [text] = line.twilio.messages
    [call] = line.twilio.calls

    for status in ("queued", "sent", "delivered", "delivered"):
        assert await line.report(text, status) == 204
    assert await line.report(call, "completed") == 204
    for _ in range(3):
        assert await line.report(text, "failed", error_code="30008") == 204
    await line.settle()

    failed = await line.events(incident_id, TimelineKind.PAGE_FAILED)
    assert [(e.channel, e.detail) for e in failed] == [("sms", "Twilio: failed (error 30008)")]
    # The call reached her: the level waits out its ack timeout.
    assert await line.events(incident_id, TimelineKind.UNREACHABLE, TimelineKind.ESCALATED) == []
    assert [m["To"] for m in line.twilio.messages] == [ALICE]


async def test_a_later_rule_step_still_to_come_may_yet_reach_the_person(line: Line) -> None:
    rules = NotificationRules(
        high=[
            RuleStep(after=timedelta(0), notify=["sms"]),
            RuleStep(after=timedelta(minutes=3), notify=["voice"]),
        ]
    )
    alice = Person(name="Alice", phone=ALICE, phone_methods=["sms", "voice"], rules=rules)
    line.pager.directory = directory(alice)
    incident_id = await opened(line.store, line.clock)
    await line.pager.open(incident_id)
    [text] = line.twilio.messages

    assert await line.report(text, "undelivered", error_code="30005") == 204
    await line.settle()
    assert await line.events(incident_id, TimelineKind.UNREACHABLE) == []

    await line.timers.run_until(line.pager, line.clock() + timedelta(minutes=3))
    [call] = line.twilio.calls
    assert await line.report(call, "busy") == 204
    await line.settle()

    [unreachable] = await line.events(incident_id, TimelineKind.UNREACHABLE)
    assert unreachable.detail == "every way failed: sms, voice"
    assert [m["To"] for m in line.twilio.messages] == [ALICE, BOB]


@pytest.mark.parametrize(
    ("signature", "token"),
    [
        ("forged", None),
        (None, None),
        ("genuine", "s1.e30.AAAAAAAAAAAAAAAAAAAAAA"),
        ("genuine", "v2.e30.AAAAAAAAAAAAAAAAAAAAAA"),
    ],
    ids=["forged-signature", "no-signature", "forged-token", "a-link-not-a-status"],
)
async def test_only_twilio_reports_on_the_delivery_it_was_given(
    line: Line, signature: str | None, token: str | None
) -> None:
    incident_id = await opened(line.store, line.clock)
    await line.pager.open(incident_id)
    [text] = line.twilio.messages
    if token is not None:
        text = {**text, "StatusCallback": f"{PUBLIC_URL}/twilio/status/{token}"}
    if signature == "forged":
        status = await line.report(text, "failed", auth_token="not-the-auth-token")
    elif signature is None:
        unsigned = {"MessageStatus": "failed"}
        async with line.http.post(line.proxied(text), data=unsigned) as response:
            status = response.status
    else:
        status = await line.report(text, "failed")

    assert status == 403
    await line.settle()
    assert await line.events(incident_id, TimelineKind.PAGE_FAILED) == []


async def test_a_report_on_an_incident_gone_or_a_body_twilio_never_sends_is_no_error(
    line: Line,
) -> None:
    incident_id = await opened(line.store, line.clock)
    await line.pager.open(incident_id)
    [text] = line.twilio.messages
    odd = {"MessageStatus": "exploded", "Unexpected": "\u0000 field", "ErrorCode": "x" * 500}
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, text["StatusCallback"], odd)}
    async with line.http.post(line.proxied(text), data=odd, headers=headers) as response:
        assert response.status == 204
    assert await line.events(incident_id, TimelineKind.PAGE_FAILED) == []

    await line.store.redis.flushdb()  # the incident is gone
    assert await line.report(text, "failed", error_code="30008") == 204
    await line.settle()
    assert [t.job for t in line.timers.pending.values()] == ["escalate"]  # nothing more
