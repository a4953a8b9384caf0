"""Signing in to the console by a mailed link in a real browser (Debian's Chromium driven by
Playwright), as ``tocsin web`` serves it in this process on the real Valkey with a real SMTP
server: ask on the sign-in page, open the link from the mail, press Sign in, land on the page
asked for; the same link a second time is refused."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser
from redis.asyncio import Redis

from notifier.config import Person, SmtpConfig
from tests.conftest import ManualClock
from tests.e2e.browsers import needs_chromium
from tests.e2e.conftest import Mailbox, eventually, free_port
from tests.integration.test_api import DEPLOY
from tests.integration.test_console_magic_links import ALICE, link_in
from tocsin.app import make_app
from tocsin.config import load_config
from tocsin.console.config import ConsoleConfig
from tocsin.runtime import Runtime
from tocsin.settings import Settings

pytestmark = needs_chromium


@pytest.fixture
async def url(redis: Redis, clock: ManualClock, mailbox: Mailbox) -> AsyncIterator[str]:
    loaded = load_config(DEPLOY)
    smtp = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": mailbox.port, "from": "tocsin@example.com"}
    )
    update = {
        "people": {**loaded.config.people, "alice": Person(name="Alice", email=ALICE)},
        "smtp": smtp,
        "console": ConsoleConfig(magic_links=True),
    }
    loaded = replace(loaded, config=loaded.config.model_copy(update=update))
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    runtime = Runtime(Settings(public_url=public), loaded, redis, b"magic-browser-key", clock=clock)
    server = TestServer(make_app(runtime), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield public
    finally:
        await server.close()


async def test_sign_in_by_a_mailed_link(
    url: str, browser: Browser, mailbox: Mailbox, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(url + "/oncall")
    await page.screenshot(path=str(tmp_path / "login.png"), full_page=True)
    assert "/login" in page.url
    await page.get_by_label("Your id or email address").fill(ALICE)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_text("a sign-in link is on its way").wait_for()
    await eventually(lambda: len(mailbox.to(ALICE)) == 1, what="the sign-in mail")
    link = link_in(mailbox.to(ALICE)[0])
    assert link.startswith(url + "/login/link/")

    await page.goto(link)
    await page.get_by_text("Sign in to Tocsin as Alice (alice)").wait_for()
    await page.screenshot(path=str(tmp_path / "magic-link.png"), full_page=True)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="On call").wait_for()
    assert page.url == url + "/oncall"

    again = await browser.new_page()
    await again.goto(link)
    await again.get_by_text("This sign-in link has been used already").wait_for()
