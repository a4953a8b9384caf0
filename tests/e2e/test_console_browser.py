"""The console in a real browser (Debian's Chromium driven by Playwright), as ``tocsin web``
serves it in this process on the real Valkey: an alert comes in by webhook and the router
makes its incident; someone signs in, lowers its severity, acknowledges it, writes a note,
resolves it and silences its alerts; then the same on a phone's screen, starting from the
incident list. Screenshots of each step go to the test's own directory."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.stream import alert_stream
from router import keys
from router.config import Severity
from router.consumer import Router
from router.silence_store import SilenceStore
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.browsers import needs_chromium
from tests.e2e.conftest import alertmanager_payload
from tests.integration.test_api import DEPLOY, WEBHOOK
from tocsin.app import make_app
from tocsin.config import load_config
from tocsin.console.passwords import Passwords
from tocsin.runtime import Runtime
from tocsin.settings import Settings

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}

pytestmark = needs_chromium


@dataclass
class Served:
    url: str
    router: Router

    async def alert(self, alertname: str) -> None:
        """One alert by webhook, then the router's pass that opens its incident."""
        payload = alertmanager_payload("firing", alertname=alertname, fingerprint=alertname)
        async with ClientSession() as http:
            response = await http.post(self.url + WEBHOOK, json=payload)
            assert response.status == 202
        assert await self.router.step() == 1


@pytest.fixture
async def served(redis: Redis, clock: ManualClock) -> AsyncIterator[Served]:
    loaded = load_config(DEPLOY)
    runtime = Runtime(Settings(), loaded, redis, b"console-browser-key", clock=clock)
    await alert_stream(redis).ensure_group(keys.CONSUMER_GROUP)
    router = Router(redis, loaded.routing, "test-router", CollectorRegistry(), clock)
    await Passwords(redis).set("alice", PASSWORD)
    server = TestServer(make_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        yield Served(str(server.make_url("")).rstrip("/"), router)
    finally:
        await server.close()


async def sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/")
    assert "/login" in page.url
    await page.get_by_label("Person").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Incidents").wait_for()


async def work_the_incident(page: Page, shots: Path, prefix: str) -> None:
    """From an incident's page: lower its severity, acknowledge, note, resolve, silence its
    alerts."""
    await page.get_by_label("Severity").select_option("SEV3")
    await page.get_by_role("button", name="Change severity").click()
    await page.get_by_text("Severity lowered: pages from now on go by it.").wait_for()
    await page.get_by_text("SEV1 → SEV3 by alice").wait_for()
    await page.get_by_role("button", name="Acknowledge").click()
    await page.get_by_text("Acknowledged: paging has stopped.").wait_for()
    await page.get_by_label("Note").fill("Rolled back the 14:02 deploy")
    await page.get_by_role("button", name="Add note").click()
    await page.get_by_text("Note added.").wait_for()
    await page.screenshot(path=str(shots / f"{prefix}-acknowledged.png"), full_page=True)
    await page.get_by_role("button", name="Resolve").click()
    await page.get_by_text("Resolved: everyone paged is told.").wait_for()
    assert await page.get_by_text("Rolled back the 14:02 deploy").count() == 1
    await page.get_by_role("link", name="Silence these alerts").click()
    matchers = await page.get_by_label("Matchers").input_value()
    assert 'cluster="eu1"' in matchers
    await page.get_by_role("button", name="Create silence").click()
    await page.get_by_text("Silence created.").wait_for()
    await page.screenshot(path=str(shots / f"{prefix}-silenced.png"), full_page=True)


async def test_sign_in_acknowledge_note_resolve_and_silence(
    served: Served, browser: Browser, redis: Redis, clock: ManualClock, tmp_path: Path
) -> None:
    await served.alert("HighLatency")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, served.url)
    await page.get_by_role("link", name="#1 p99 latency above 2s on payments").click()
    await page.get_by_role("heading", name="Alerts (1 firing of 1)").wait_for()
    await page.screenshot(path=str(tmp_path / "desktop-incident.png"), full_page=True)
    await work_the_incident(page, tmp_path, "desktop")

    incident = await IncidentStore(redis).get("1")
    assert incident is not None
    assert (incident.acknowledged_by, incident.resolved_by) == ("alice", "alice")
    assert incident.severity is Severity.SEV3
    [silence] = await SilenceStore(redis).all(clock())
    assert silence.created_by == "alice"


async def test_the_same_on_a_phone_from_the_incident_list(
    served: Served, browser: Browser, redis: Redis, tmp_path: Path
) -> None:
    await served.alert("ErrorRate")
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, served.url)
    await page.screenshot(path=str(tmp_path / "phone-list.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.get_by_role("link", name="#1 p99 latency above 2s on payments").click()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "phone-incident.png"), full_page=True)
    await work_the_incident(page, tmp_path, "phone")
    incident = await IncidentStore(redis).get("1")
    assert incident is not None
    assert incident.resolved_by == "alice"
    await context.close()


async def test_the_reports_chart_loads_under_the_consoles_csp(
    served: Served, browser: Browser, clock: ManualClock, tmp_path: Path
) -> None:
    """The chart is an ``<img>`` of a console route: the browser loads it with the session
    and the CSP (``img-src 'self'``) lets it through, with nothing refused."""
    await served.alert("HighLatency")
    clock.advance(timedelta(minutes=1))
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    await sign_in(page, served.url)
    await page.get_by_role("link", name="Reports").click()
    await page.get_by_role("heading", name="Reports").wait_for()
    chart = page.get_by_role("img", name="Incidents per day by severity")
    await chart.wait_for()
    await page.wait_for_load_state("load")
    assert await chart.evaluate("image => image.complete && image.naturalWidth") == 930
    await page.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
    assert failed == []
    assert [text for text in said if "Content Security Policy" in text] == []
