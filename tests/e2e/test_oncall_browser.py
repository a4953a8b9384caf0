"""The on-call page and a person's page in a real browser (Debian's Chromium driven by
Playwright), over a small demo rota: a weekly schedule with a stand-in kept in the store and
a follow-the-sun schedule of two layers. Someone signs in, reads who is on call, follows a
name to that person's page and their own from the header; then the same on a phone's
screen. The desktop screenshot of the on-call page, ``oncall.png`` in the test's directory,
is the README's ``deploy/console-oncall.png``."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page
from redis.asyncio import Redis

from schedules.override_store import OverrideStore
from tests.conftest import ManualClock
from tests.e2e.browsers import needs_chromium
from tests.e2e.test_console_browser import PASSWORD, PHONE, sign_in
from tests.integration.test_stored_overrides import stand_in
from tocsin.app import make_app
from tocsin.config import load_config
from tocsin.console.passwords import Passwords
from tocsin.runtime import Runtime
from tocsin.settings import Settings

pytestmark = needs_chromium

CONFIG = """\
people:
  alice: {name: Alice Martin, console: true}
  bob:   {name: Bob Okafor, console: true}
  carol: {name: Carol Silva, console: true}
  dave:  {name: Dave Kim, console: true}
schedules_dir: schedules
escalation_policies:
  payments:
    levels:
      - {targets: [schedule:payments-primary], ack_timeout: 5m}
      - {targets: [person:bob], ack_timeout: 10m}
  platform:
    repeat: 1
    levels:
      - {targets: [schedule:follow-the-sun], ack_timeout: 5m}
      - {targets: [person:dave], ack_timeout: 15m}
routes:
  - {match: {}, policy: payments}
"""
SCHEDULES = {
    "payments-primary": """\
name: payments-primary
timezone: Europe/Berlin
rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice, bob]}
""",
    "follow-the-sun": """\
name: follow-the-sun
timezone: Europe/Berlin
layers:
  - {name: americas, every: 1w, handoff: "2026-01-05 09:00", members: [carol, dave]}
  - name: europe
    every: 1w
    handoff: "2026-01-05 09:00"
    members: [alice, bob]
    restrictions: [{start: "07:00", end: "19:00"}]
""",
}


@pytest.fixture
async def url(redis: Redis, clock: ManualClock, tmp_path: Path) -> AsyncIterator[str]:
    """The console over the demo rota, Dave standing in for Alice's first two hours."""
    (tmp_path / "schedules").mkdir()
    (tmp_path / "tocsin.yaml").write_text(CONFIG)
    for name, text in SCHEDULES.items():
        (tmp_path / "schedules" / f"{name}.yaml").write_text(text)
    await OverrideStore(redis).add(stand_in(clock, "dave", 2, "payments-primary"), clock())
    await Passwords(redis).set("alice", PASSWORD)
    loaded = load_config(tmp_path / "tocsin.yaml")
    runtime = Runtime(Settings(), loaded, redis, b"oncall-browser-key", clock=clock)
    server = TestServer(make_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def read_the_rota(page: Page) -> None:
    """From any page: who is on call, then Carol's page, then one's own."""
    await page.get_by_role("link", name="On call").click()
    await page.get_by_role("heading", name="On call").wait_for()
    primary = page.locator("section", has=page.get_by_role("heading", name="payments-primary"))
    assert "Dave Kim until 2026-03-02 14:00:00 UTC (override)" in await primary.inner_text()
    sun = page.locator("section", has=page.get_by_role("heading", name="follow-the-sun"))
    # 13:00 in Berlin: Europe's layer has the pager until 19:00, then the Americas'.
    assert "Alice Martin until 2026-03-02 18:00:00 UTC" in await sun.inner_text()
    assert "Carol Silva: 2026-03-02 18:00:00 UTC" in await sun.inner_text()
    await page.get_by_role("link", name="Carol Silva").first.click()
    await page.get_by_role("heading", name="Carol Silva").wait_for()
    assert "follow-the-sun: 2026-03-02 18:00:00 UTC to 2026-03-03 06:00:00 UTC" in (
        await page.inner_text("main")
    )
    await page.get_by_role("link", name="My page").click()
    await page.get_by_role("heading", name="Alice Martin (you)").wait_for()
    assert "payments-primary: 2026-03-02 14:00:00 UTC to 2026-03-09 08:00:00 UTC" in (
        await page.inner_text("main")
    )
    feed = await page.locator("a.feed").get_attribute("href")
    assert feed is not None
    assert "/people/alice.ics?token=" in feed


async def test_who_is_on_call_on_a_desktop(url: str, browser: Browser, tmp_path: Path) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, url)
    await page.get_by_role("link", name="On call").click()
    await page.get_by_role("heading", name="Escalation policies").wait_for()
    await page.screenshot(path=str(tmp_path / "oncall.png"), full_page=True)
    await read_the_rota(page)
    await page.screenshot(path=str(tmp_path / "me.png"), full_page=True)


async def test_the_same_on_a_phone(url: str, browser: Browser, tmp_path: Path) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, url)
    await read_the_rota(page)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "phone-me.png"), full_page=True)
    await page.get_by_role("link", name="On call").click()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "phone-oncall.png"), full_page=True)
    await context.close()
