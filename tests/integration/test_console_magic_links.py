"""Signing in to the console by a link sent to the person, as ``tocsin web`` serves it, against
the real Valkey, a real SMTP server (aiosmtpd), a Slack API stand-in and a webhook receiver:
the link arrives, opening it only shows a button, the button signs in once; expired, altered,
used and unasked-for links are refused with a page that says so, and asking tells nobody
whether a person exists."""

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from yarl import URL

from notifier.channels.webhook import signature_headers
from notifier.config import Person, SlackConfig, SmtpConfig
from tests.conftest import ManualClock
from tests.e2e.conftest import Mailbox, eventually, link_after, receiving_mail
from tests.integration.chat_peers import Hold, SlackPeer, serving
from tests.integration.test_api import DEPLOY
from tests.integration.test_console import csrf_of
from tocsin.app import make_app
from tocsin.config import LoadedConfig, load_config
from tocsin.console.config import ConsoleConfig
from tocsin.console.magic_links import MAX_REQUESTS, ON_ITS_WAY
from tocsin.runtime import Runtime
from tocsin.settings import Settings

Client = TestClient[web.Request, web.Application]
PUBLIC = "https://tocsin.example.com"
ALICE = "alice@example.com"
HOOK_SECRET = "hook-secret-0123456789"


class Hooks:
    """A person's webhook: every POST kept with whether its signature checked out."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = int(request.headers["X-Tocsin-Timestamp"])
        expected = signature_headers(HOOK_SECRET.encode(), timestamp, raw)
        assert request.headers["X-Tocsin-Signature"] == expected["X-Tocsin-Signature"]
        self.received.append(json.loads(raw))
        return web.Response(status=204)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with receiving_mail() as box:
        yield box


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackPeer, str]]:
    peer = SlackPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, str(server.make_url("/api"))


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Hooks, str]]:
    receiver = Hooks()
    app = web.Application()
    app.router.add_post("/carol", receiver.receive)
    async with serving(app, Hold()) as server:
        yield receiver, str(server.make_url("/carol"))


def configured(
    mailbox: Mailbox, slack_api: str, hook: str, *, magic_links: bool = True
) -> LoadedConfig:
    loaded = load_config(DEPLOY)
    people = {
        "alice": Person(name="Alice", email=ALICE),
        "bob": Person(name="Bob", slack_user="U0BOB"),
        "carol": Person(name="Carol", webhook=hook, webhook_secret=HOOK_SECRET),
        "dave": Person(name="Dave", console=True),
    }
    smtp = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": mailbox.port, "from": "tocsin@example.com"}
    )
    update = {
        "people": people,
        "smtp": smtp,
        "slack": SlackConfig(bot_token=SlackPeer.TOKEN, api_url=slack_api),
        "console": ConsoleConfig(magic_links=magic_links),
    }
    return replace(loaded, config=loaded.config.model_copy(update=update))


@pytest.fixture
def magic_links() -> bool:
    """On, unless a test parametrizes it off."""
    return True


@pytest.fixture
async def client(
    mailbox: Mailbox,
    slack: tuple[SlackPeer, str],
    hooks: tuple[Hooks, str],
    redis: Redis,
    clock: ManualClock,
    magic_links: bool,
) -> AsyncIterator[Client]:
    loaded = configured(mailbox, slack[1], hooks[1], magic_links=magic_links)
    settings = Settings(public_url=PUBLIC)
    runtime = Runtime(settings, loaded, redis, b"magic-link-signing-key", clock=clock)
    async with TestClient(TestServer(make_app(runtime))) as served:
        yield served


async def ask(client: Client, person: str, *, next_page: str = "/") -> Any:
    token = csrf_of(await (await client.get("/login")).text())
    data = {"person": person, "csrf": token, "next": next_page}
    return await client.post("/login/link", data=data, allow_redirects=False)


async def mailed_link(mailbox: Mailbox, count: int = 1) -> str:
    """The link in the ``count``-th mail to Alice, once it has come."""
    await eventually(lambda: len(mailbox.to(ALICE)) >= count, what="the sign-in mail")
    return link_in(mailbox.to(ALICE)[count - 1])


def link_in(message: Message) -> str:
    assert message["Subject"] == "Sign in to Tocsin"
    return link_after(message, "Sign in to Tocsin")


def path_of(link: str) -> str:
    assert link.startswith(PUBLIC + "/login/link/")
    return URL(link).raw_path_qs


async def signed_in_as(client: Client) -> str | None:
    response = await client.get("/", allow_redirects=False)
    if response.status != 200:
        return None
    found = re.search(r'<span class="who">(\w+)', await response.text())
    return found.group(1) if found else None


async def test_a_mailed_link_shows_a_button_that_signs_in_once(
    client: Client, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    asked = await ask(client, "alice")
    assert asked.status == 200
    assert ON_ITS_WAY in await asked.text()
    path = path_of(await mailed_link(mailbox))

    shown = await client.get(path, allow_redirects=False)
    assert shown.status == 200
    html = await shown.text()
    assert "Sign in to Tocsin as Alice (alice)" in html
    assert f'action="{URL(path).path}"' in html
    assert "tocsin_session" not in shown.cookies
    assert await signed_in_as(client) is None

    with caplog.at_level(logging.INFO, logger="tocsin.console.login"):
        used = await client.post(path, allow_redirects=False)
    assert used.status == 303
    assert used.headers["Location"] == "/"
    cookie = used.cookies["tocsin_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert await signed_in_as(client) == "alice"
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "login"]
    assert (record.person, record.method) == ("alice", "magic link")  # type: ignore[attr-defined]
    assert "/login/link/" not in caplog.text

    client.session.cookie_jar.clear()
    again = await client.post(path, allow_redirects=False)
    assert again.status == 410
    assert "has been used already" in await again.text()
    assert "tocsin_session" not in again.cookies
    assert (await client.get(path)).status == 410


async def test_a_person_can_be_named_by_email_address_and_come_back_to_their_page(
    client: Client, mailbox: Mailbox
) -> None:
    await ask(client, "ALICE@Example.com", next_page="/incidents/7")
    path = path_of(await mailed_link(mailbox))
    assert URL(path).query["next"] == "/incidents/7"
    form = csrf_free_form(await (await client.get(path)).text())
    used = await client.post(path, data=form, allow_redirects=False)
    assert used.headers["Location"] == "/incidents/7"
    await ask(client, "alice", next_page="//evil.example/")
    assert URL(path_of(await mailed_link(mailbox, 2))).query == {}


def csrf_free_form(html: str) -> dict[str, str]:
    """The hidden fields of the link's page: the button's form needs no CSRF token."""
    assert 'name="csrf"' not in html
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


async def test_an_expired_link_is_refused(
    client: Client, mailbox: Mailbox, clock: ManualClock
) -> None:
    await ask(client, "alice")
    path = path_of(await mailed_link(mailbox))
    clock.advance(timedelta(minutes=15))
    for response in [await client.get(path), await client.post(path, allow_redirects=False)]:
        assert response.status == 410
        assert "has expired" in await response.text()
        assert "tocsin_session" not in response.cookies
    assert await signed_in_as(client) is None


async def test_an_altered_or_made_up_link_is_refused_with_a_page(
    client: Client, mailbox: Mailbox
) -> None:
    await ask(client, "alice")
    path = URL(path_of(await mailed_link(mailbox))).path
    token = path.rpartition("/")[2]
    rest = token.split(".", 1)[1]
    as_bob = f"/login/link/Ym9i.{rest}"  # "bob" with Alice's signature
    flipped = path[:-1] + ("A" if path[-1] != "A" else "B")
    for forged in [as_bob, flipped, "/login/link/x", "/login/link/a.b.c.d", "/login/link/%C3%A9"]:
        response = await client.post(forged, allow_redirects=False)
        assert response.status == 400, forged
        assert "is not valid" in await response.text()
        assert "tocsin_session" not in response.cookies
    assert (await client.post(path, allow_redirects=False)).status == 303  # still unused


async def test_the_answer_is_the_same_for_anyone_and_only_people_get_links(
    client: Client,
    mailbox: Mailbox,
    slack: tuple[SlackPeer, str],
    hooks: tuple[Hooks, str],
) -> None:
    answers = {who: await (await ask(client, who)).text() for who in ["mallory", "dave", "bob"]}
    answers["carol"] = await (await ask(client, "carol")).text()
    answers["alice"] = await (await ask(client, "alice")).text()
    assert len(set(answers.values())) == 1
    assert ON_ITS_WAY in answers["alice"]
    await mailed_link(mailbox)
    peer, receiver = slack[0], hooks[0]
    await eventually(lambda: len(peer.posted) == 1 and len(receiver.received) == 1)
    assert [m["X-Rcpt"] for m in mailbox.messages] == [ALICE]
    [direct] = peer.posted
    assert direct["channel"] == "U0BOB"
    button = direct["blocks"][1]["elements"][0]
    assert (await client.get(path_of(button["url"]))).status == 200
    [hooked] = receiver.received
    assert (hooked["kind"], hooked["person"]) == ("sign_in_link", "carol")
    assert (await client.get(path_of(hooked["url"]))).status == 200


async def test_asking_too_often_is_refused_alike_for_anyone(
    client: Client, mailbox: Mailbox
) -> None:
    for _ in range(MAX_REQUESTS):
        assert (await ask(client, "alice")).status == 200
        assert (await ask(client, "mallory")).status == 200
    for who in ["alice", ALICE, "mallory"]:
        refused = await ask(client, who)
        assert refused.status == 429
        assert "Too many sign-in links asked for" in await refused.text()
    await mailed_link(mailbox, MAX_REQUESTS)
    assert len(mailbox.messages) == MAX_REQUESTS


async def test_asking_without_the_form_token_is_refused(client: Client, mailbox: Mailbox) -> None:
    await client.get("/login")
    response = await client.post("/login/link", data={"person": "alice"}, allow_redirects=False)
    assert response.status == 403
    assert (await ask(client, "alice")).status == 200
    await mailed_link(mailbox)
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize("magic_links", [False])
async def test_without_magic_links_there_is_no_form_and_no_route(client: Client) -> None:
    assert "/login/link" not in await (await client.get("/login")).text()
    assert (await ask(client, "alice")).status == 404
    assert (await client.get("/login/link/anything")).status == 404
