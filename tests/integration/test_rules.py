"""Personal notification rules, retries with backoff and unreachable levels, against a real
Valkey, a real SMTP server (aiosmtpd) and a real HTTP sink; the clock is moved by the test
and the timers run when it passes them (``timers``)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier.channels.email import EmailChannel
from notifier.channels.webhook import WebhookChannel
from notifier.config import EscalationPolicy, Person, SmtpConfig
from notifier.directory import Directory
from notifier.escalation import FIRST
from notifier.paging import Pager
from notifier.rules import NotificationRules, RuleStep
from notifier.sending import Links
from router.config import Route, RoutingConfig, SeverityRule
from router.matchers import parse_matcher
from router.models import TimelineEvent, TimelineKind
from router.silence_store import SilenceStore
from router.silences import Silence, SilenceMatcher
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.test_channel_email import Mailbox, serving
from tests.integration.test_paging import PUBLIC_URL, SECRET, RecordingChannel, level
from tests.integration.timers import Timers

ACK_TIMEOUT = timedelta(minutes=10)
HOUR = timedelta(hours=1)
RULES = NotificationRules(
    high=[
        RuleStep(after=timedelta(0), notify=["slack", "email"]),
        RuleStep(after=timedelta(minutes=3), notify=["sms"]),
    ],
    low=[RuleStep(after=timedelta(0), notify=["email"])],
)
PEOPLE = {
    "alice": Person(
        name="Alice",
        email="alice@example.com",
        slack_user="U123",
        phone="+4915112345678",
        rules=RULES,
    ),
    "bob": Person(name="Bob", slack_user="U456"),
}
ROUTING = RoutingConfig(
    routes=[Route(name="payments", match={"service": "payments"}, policy="payments")],
    severity=[SeverityRule(match={"severity": "warning"}, level="SEV3")],
)
"""SEV2 (high urgency) unless the alert says ``severity: warning`` (SEV3, low)."""


@dataclass
class Rig:
    pager: Pager
    store: IncidentStore
    timers: Timers
    clock: ManualClock
    mailbox: Mailbox
    slack: RecordingChannel
    sms: RecordingChannel
    registry: CollectorRegistry

    async def open(self, **labels: str) -> str:
        incident_id = await opened(self.store, self.clock, **labels)
        await self.pager.open(incident_id)
        return incident_id

    async def at(self, delay: timedelta) -> None:
        """Move the clock ``delay`` on, running every timer due on the way."""
        await self.timers.run_until(self.pager, self.clock() + delay)

    async def timeline(self, incident_id: str, kind: TimelineKind) -> list[TimelineEvent]:
        return [e for e in await self.store.timeline(incident_id) if e.kind is kind]

    def mails(self) -> list[str]:
        return [to for envelope in self.mailbox.envelopes for to in envelope.rcpt_tos]

    def sent(self, kind: str = "failed", channel: str = "email") -> float | None:
        labels = {"channel": channel, "kind": "page", "result": kind}
        return self.registry.get_sample_value("tocsin_notifications_total", labels)


async def opened(store: IncidentStore, clock: ManualClock, **labels: str) -> str:
    """A new incident of the payments service (SEV2 unless ``severity`` says otherwise)."""
    alert = Alert(
        dedup_key="latency",
        status=AlertStatus.FIRING,
        summary="latency on payments",
        labels={"service": "payments", "alertname": "latency", **labels},
        integration="prom",
        source="alertmanager",
        received_at=clock(),
    )
    change = await store.apply_alert(alert, ROUTING)
    assert change.incident_id is not None
    return change.incident_id


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with serving() as served:
        yield served


@pytest.fixture
def rig(redis: Redis, clock: ManualClock, smtp: tuple[Mailbox, int]) -> Rig:
    box, port = smtp
    return make_rig(redis, clock, box, port)


def make_rig(redis: Redis, clock: ManualClock, box: Mailbox, port: int, name: str = "") -> Rig:
    store = IncidentStore(redis)
    timers = Timers(clock)
    registry = CollectorRegistry()
    email = EmailChannel(SmtpConfig(host="127.0.0.1", port=port, sender="t@example.com"), clock)
    slack = RecordingChannel("slack", lambda p: p.slack_target is not None)
    sms = RecordingChannel("sms", lambda p: p.by_phone("sms") is not None)
    directory = Directory(
        people=PEOPLE,
        policies={
            "payments": EscalationPolicy(
                levels=[
                    level("person:alice", ack_timeout=ACK_TIMEOUT),
                    level("person:bob", ack_timeout=ACK_TIMEOUT),
                ]
            )
        },
    )
    links = Links(PUBLIC_URL, SECRET)
    pager = Pager(store, directory, [email, slack, sms], links, timers, clock, registry, name=name)
    return Rig(pager, store, timers, clock, box, slack, sms, registry)


def closed_port() -> int:
    """A port nobody listens on: the SMTP server is down."""
    with serving() as (_, port):
        pass
    return port


async def test_sms_goes_out_after_three_minutes_when_nobody_acknowledged(rig: Rig) -> None:
    incident_id = await rig.open()

    assert rig.mails() == ["alice@example.com"]
    assert [n.person for n in rig.slack.delivered] == ["alice"]
    assert rig.sms.attempts == []

    await rig.at(timedelta(minutes=2, seconds=59))
    assert rig.sms.attempts == []
    await rig.at(timedelta(seconds=1))

    assert [(n.person, n.level) for n in rig.sms.delivered] == [("alice", 1)]
    paged = await rig.timeline(incident_id, TimelineKind.PAGED)
    assert [(e.channel, e.at - paged[0].at) for e in paged] == [
        ("email", timedelta(0)),
        ("slack", timedelta(0)),
        ("sms", timedelta(minutes=3)),
    ]
    # Once per rule step, however often its job runs.
    await rig.pager.rule_steps.run(incident_id, FIRST, "alice", 1)
    assert len(rig.sms.attempts) == 1


async def test_acknowledging_at_two_minutes_stops_the_sms(rig: Rig) -> None:
    incident_id = await rig.open()
    await rig.at(timedelta(minutes=2))

    await rig.store.acknowledge(incident_id, "alice", rig.clock())
    await rig.at(timedelta(minutes=20))

    assert rig.sms.attempts == []
    assert [n.person for n in rig.slack.delivered] == ["alice"]  # nor did it escalate


async def test_a_silence_after_the_page_holds_the_sms_until_it_ends(rig: Rig, redis: Redis) -> None:
    await rig.open()
    await rig.at(timedelta(minutes=1))
    now = rig.clock()
    quiet = Silence(
        matchers=[SilenceMatcher.of(parse_matcher("service=payments"))],
        starts_at=now,
        ends_at=now + timedelta(minutes=4),
        created_by="alice",
        comment="deploying payments",
    )
    await SilenceStore(redis).save(quiet, now)

    await rig.at(timedelta(minutes=3, seconds=59))
    assert rig.sms.attempts == []

    await rig.at(timedelta(minutes=1))  # the step looked again as the silence ended
    assert [n.person for n in rig.sms.delivered] == ["alice"]


async def test_low_urgency_pages_by_email_only(rig: Rig) -> None:
    incident_id = await rig.open(severity="warning")
    await rig.at(timedelta(minutes=5))

    assert rig.mails() == ["alice@example.com"]
    assert rig.slack.attempts == []
    assert rig.sms.attempts == []
    paged = await rig.timeline(incident_id, TimelineKind.PAGED)
    assert [(e.person, e.channel) for e in paged] == [("alice", "email")]


async def test_mail_down_backs_off_then_the_next_rule_step_goes_out(
    redis: Redis, clock: ManualClock
) -> None:
    rig = make_rig(redis, clock, Mailbox(), closed_port())
    incident_id = await rig.open()
    opened = clock()

    retries = rig.timers.due("retry_page")
    assert len(retries) == 1
    assert timedelta(seconds=7.5) <= retries[0] - opened <= timedelta(seconds=15)
    await rig.at(timedelta(minutes=3))

    # Four tries of the mail within two minutes, then the SMS of the next step.
    assert rig.sent("failed") == 4
    failed = await rig.timeline(incident_id, TimelineKind.PAGE_FAILED)
    assert len(failed) == 2  # the first try and the last, not each one between
    assert failed[0].detail is not None
    assert failed[0].detail.startswith("SMTPConnectError")
    assert failed[1].detail == f"{failed[0].detail} (try 4)"
    assert failed[-1].at - opened < timedelta(minutes=2)
    assert [n.person for n in rig.sms.delivered] == ["alice"]
    # Slack reached her: she is not unreachable and the level waits for its timer.
    assert not await rig.timeline(incident_id, TimelineKind.UNREACHABLE)
    assert not await rig.timeline(incident_id, TimelineKind.ESCALATED)


async def test_a_level_nobody_could_reach_escalates_before_its_ack_timeout(
    redis: Redis, clock: ManualClock
) -> None:
    rig = make_rig(redis, clock, Mailbox(), closed_port())
    rig.slack.fail("alice", retryable=False)
    rig.sms.fail("alice", retryable=False)
    incident_id = await rig.open()
    opened = clock()

    await rig.at(timedelta(minutes=2))
    assert rig.slack.to("bob") == []  # her SMS is still to come

    await rig.at(timedelta(minutes=1))

    # Her last rule step failed for good at 3 minutes: Bob is paged then, not at 10.
    assert [n.level for n in rig.slack.to("bob")] == [2]
    assert clock() - opened < ACK_TIMEOUT
    unreachable = await rig.timeline(incident_id, TimelineKind.UNREACHABLE)
    assert [(e.person, e.level, e.detail) for e in unreachable] == [
        ("alice", 1, "every way failed: sms")
    ]
    escalated = await rig.timeline(incident_id, TimelineKind.ESCALATED)
    assert [(e.level, e.detail, e.at - opened) for e in escalated] == [
        (2, "nobody at level 1 could be reached", timedelta(minutes=3))
    ]
    # Level 1's timer, when it runs, finds the escalation made.
    await rig.at(ACK_TIMEOUT)
    assert len(rig.slack.to("bob")) == 1
    assert len(await rig.timeline(incident_id, TimelineKind.ESCALATED)) == 1


class Limited:
    """An HTTP sink that answers the first request 429 with ``Retry-After``."""

    def __init__(self, retry_after: str) -> None:
        self.retry_after = retry_after
        self.requests = 0

    async def receive(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests == 1:
            headers = {"Retry-After": self.retry_after}
            return web.Response(status=429, text="slow down", headers=headers)
        return web.Response(text="ok")


@pytest.fixture
async def limited() -> AsyncIterator[tuple[Limited, TestServer]]:
    sink = Limited(retry_after="50")
    app = web.Application()
    app.router.add_post("/hook", sink.receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield sink, server
    finally:
        await server.close()


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
async def test_a_429_is_retried_after_its_retry_after(
    redis: Redis, clock: ManualClock, limited: tuple[Limited, TestServer], as_date: bool
) -> None:
    sink, server = limited
    if as_date:
        # The same wait as a date, read against the worker's clock, not the wall's.
        sink.retry_after = format_datetime(clock() + timedelta(seconds=50), usegmt=True)
    hook = WebhookChannel(clock)
    store = IncidentStore(redis)
    timers = Timers(clock)
    carol = Person(name="Carol", webhook=str(server.make_url("/hook")))
    directory = Directory(
        people={"carol": carol},
        policies={
            "payments": EscalationPolicy(levels=[level("person:carol", ack_timeout=ACK_TIMEOUT)])
        },
    )
    registry = CollectorRegistry()
    pager = Pager(store, directory, [hook], Links(PUBLIC_URL, SECRET), timers, clock, registry)
    try:
        incident_id = await opened(store, clock)
        start = clock()
        await pager.open(incident_id)

        assert timers.due("retry_page") == [start + timedelta(seconds=50)]
        await timers.run_until(pager, start + timedelta(seconds=49))
        assert sink.requests == 1
        await timers.run_until(pager, start + timedelta(seconds=50))

        assert sink.requests == 2
        story = await store.timeline(incident_id)
        assert [(e.kind, e.person, e.detail, e.at - start) for e in story[2:]] == [
            (
                TimelineKind.PAGE_FAILED,
                "carol",
                f"HTTP 429 Too Many Requests, retry after {sink.retry_after}"
                + ("" if as_date else "s"),
                timedelta(0),
            ),
            (TimelineKind.PAGED, "carol", "HTTP 200 OK", timedelta(seconds=50)),
        ]
    finally:
        await hook.aclose()


async def test_two_workers_and_a_retry_at_once_send_one_page_per_person_and_channel(
    redis: Redis, clock: ManualClock, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    first = make_rig(redis, clock, box, port, name="worker-1")
    second = make_rig(redis, clock, box, port, name="worker-2")
    # The second worker's channels record into the first's, as one outside world.
    second.pager.sender.channels = first.pager.sender.channels
    for _ in range(100):
        incident_id = await opened(first.store, clock)
        # The event on one worker, a retry job on the other, and the event again.
        await asyncio.gather(
            first.pager.page(incident_id, FIRST),
            second.pager.page(incident_id, FIRST, 1),
            second.pager.page(incident_id, FIRST),
        )
        await first.store.resolve(incident_id, "alice", clock(), retention=HOUR)

    assert len([n for n in first.slack.delivered if n.kind == "page"]) == 100
    assert len(set(n.incident_id for n in first.slack.delivered)) == 100
    assert first.mails() == ["alice@example.com"] * 100
