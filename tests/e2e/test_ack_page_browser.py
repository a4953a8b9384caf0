"""The acknowledge page in a real browser (Debian's Chromium driven by Playwright): opening
the link changes nothing, the button acknowledges."""

from pathlib import Path

import aiohttp
from playwright.async_api import Browser
from redis.asyncio import Redis

from router.store import IncidentStore
from tests.e2e.browsers import needs_chromium
from tests.e2e.conftest import WEBHOOK, Sink, alertmanager_payload, eventually
from tocsin.service import Running

pytestmark = needs_chromium


async def test_the_link_shows_the_incident_and_the_button_acknowledges(
    service: Running, redis: Redis, sink: Sink, browser: Browser, tmp_path: Path
) -> None:
    firing = alertmanager_payload("firing")
    async with (
        aiohttp.ClientSession() as http,
        http.post(service.url + WEBHOOK, json=firing) as sent,
    ):
        assert sent.status == 202
    await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="Alice's page")
    page_sent = sink.at("/alice", "page")[0]
    store = IncidentStore(redis)

    page = await browser.new_page()
    await page.goto(page_sent["ack_url"])
    assert "p99 latency above 2s on payments" in await page.title()
    body = await page.inner_text("body")
    assert "SEV1" in body
    assert "cluster" in body  # the alert's labels are shown
    await page.screenshot(path=str(tmp_path / "ack-before.png"))
    incident = await store.get(page_sent["incident_id"])
    assert incident is not None
    assert incident.status == "triggered"  # opening the link acknowledged nothing

    await page.get_by_role("button", name="Acknowledge").click()
    await page.get_by_text("Acknowledged by Alice").wait_for()
    await page.screenshot(path=str(tmp_path / "ack-after.png"))
    incident = await store.get(page_sent["incident_id"])
    assert incident is not None
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", "alice")

    # Reloading the result (a browser may re-send or re-fetch) changes nothing more.
    await page.reload()
    assert "Acknowledged by Alice" in await page.inner_text("body")
