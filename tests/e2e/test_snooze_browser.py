"""Snoozing from the page in a real browser (Debian's Chromium driven by Playwright): the link
comes from a real mail, the button snoozes, and the page comes again when the snooze ends,
not before. The web handler, the notifier and its timers run in this process on a clock the
test moves, so fifteen minutes pass at once."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier.ack_web import AckPages, add_routes
from notifier.channels.email import EmailChannel
from notifier.config import EscalationPolicy, Level, Person, SmtpConfig, Target
from notifier.directory import Directory
from notifier.page_actions import PageActions
from notifier.paging import Pager
from notifier.sending import Links
from notifier.worker import EventConsumer
from router.config import Route, RoutingConfig, by_name
from router.models import IncidentStatus
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.browsers import needs_chromium
from tests.e2e.conftest import Mailbox, link_after
from tests.integration.timers import Timers, Worker

SECRET = b"browser-snooze-test-secret-0123"
ALICE = "alice@example.com"

pytestmark = needs_chromium

ROUTING = RoutingConfig(routes=[Route(name="payments", policy="payments")])
DIRECTORY = Directory(
    people={"alice": Person(name="Alice", email=ALICE), "bob": Person(name="Bob")},
    policies={
        "payments": EscalationPolicy(
            levels=[
                Level(
                    targets=[Target(kind="person", name="alice")], ack_timeout=timedelta(minutes=5)
                ),
                Level(
                    targets=[Target(kind="person", name="bob")], ack_timeout=timedelta(minutes=5)
                ),
            ]
        )
    },
    routes=by_name(ROUTING.tree),
)


@pytest.fixture
async def served(
    redis: Redis, clock: ManualClock, mailbox: Mailbox
) -> AsyncIterator[tuple[Worker, str]]:
    """The notifier (mailing through the test's SMTP server) and the incident pages, in
    process on the test's clock; the pages' base URL."""
    store = IncidentStore(redis)
    timers = Timers(clock)
    actions = PageActions(store, DIRECTORY, timers, retention=ROUTING.retention)
    app = web.Application()
    add_routes(app, AckPages(actions, SECRET, clock, grace=timedelta(hours=1)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    smtp = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": mailbox.port, "from": "tocsin@example.com"}
    )
    email = EmailChannel(smtp, clock)
    registry = CollectorRegistry()
    base_url = str(server.make_url(""))
    links = Links(base_url, SECRET)
    pager = Pager(store, DIRECTORY, [email], links, timers, clock, registry)
    consumer = EventConsumer(store, pager, "w1", registry, block=timedelta(milliseconds=1))
    try:
        yield Worker(consumer, timers), base_url
    finally:
        await server.close()
        await email.aclose()


def pages_to_alice(mailbox: Mailbox) -> list[str]:
    """The incident page link of every page mailed to alice, in order."""
    return [
        link_after(m, "Acknowledge") for m in mailbox.to(ALICE) if m["Subject"].startswith("[SEV2]")
    ]


async def test_snooze_from_the_mailed_link_pages_again_when_it_ends(
    served: tuple[Worker, str],
    redis: Redis,
    clock: ManualClock,
    mailbox: Mailbox,
    browser: Browser,
    tmp_path: Path,
) -> None:
    worker, base_url = served
    store = IncidentStore(redis)
    alert = Alert(
        dedup_key="latency",
        status=AlertStatus.FIRING,
        summary="p99 latency above 2s on payments",
        labels={"service": "payments"},
        integration="prom",
        source="alertmanager",
        received_at=clock(),
    )
    change = await store.apply_alert(alert, ROUTING)
    assert change.incident_id is not None
    await worker.settle()
    [link] = pages_to_alice(mailbox)
    assert link.startswith(base_url.rstrip("/") + "/ack/v2.")

    page = await browser.new_page()
    await page.goto(link)
    assert "p99 latency above 2s on payments" in await page.title()
    await page.get_by_role("button", name="Snooze 15 min").click()
    await page.get_by_text("Snoozed by Alice until 2026-03-02 12:15:00 UTC").wait_for()
    await page.screenshot(path=str(tmp_path / "snoozed.png"))
    incident = await store.get(change.incident_id)
    assert incident is not None
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")

    # Not before: neither the level-1 timer (5 min) nor anything else pages meanwhile.
    await worker.advance(timedelta(minutes=15) - timedelta(seconds=1))
    assert len(pages_to_alice(mailbox)) == 1
    assert not mailbox.to("bob")
    await worker.advance(timedelta(seconds=1))

    [_, again] = pages_to_alice(mailbox)
    await page.goto(again)
    assert "Snooze 15 min" in await page.inner_text("body")
    incident = await store.get(change.incident_id)
    assert incident is not None
    assert (incident.status, incident.page_epoch) == (IncidentStatus.TRIGGERED, 1)
