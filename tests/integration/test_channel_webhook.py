import asyncio
import hashlib
import hmac
import re
import socket
import textwrap
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from notifier.channels import DeliveryResult, Notification
from notifier.channels.webhook import WebhookChannel, signature_headers
from notifier.config import Person
from router.config import Severity
from router.models import IncidentStatus
from tests.conftest import ManualClock

PAGE = Notification(
    kind="page",
    incident_id="7",
    title="API latency high",
    severity=Severity.SEV2,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="bob",
    person_name="Bob",
    ack_url="http://tocsin.test/ack/v1.abc.def",
)


class Sink:
    """A webhook receiver answering with the status named in the path: ``/reply/500``."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.never = asyncio.Event()

    async def reply(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        status = int(request.match_info["status"])
        if status == 302:
            raise web.HTTPFound("/reply/200")
        return web.Response(status=status, text="sink")

    async def hang(self, request: web.Request) -> web.Response:
        await self.never.wait()
        raise AssertionError("unreachable")


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def server(sink: Sink) -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post("/reply/{status}", sink.reply)
    app.router.add_post("/hang", sink.hang)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        sink.never.set()
        await server.close()


@pytest.fixture
async def channel(clock: ManualClock) -> AsyncIterator[WebhookChannel]:
    channel = WebhookChannel(clock, timeout=timedelta(seconds=5))
    try:
        yield channel
    finally:
        await channel.aclose()


def person_at(url: object) -> Person:
    return Person(name="Bob", webhook=str(url))


async def test_posts_the_notification_as_json(
    server: TestServer, sink: Sink, channel: WebhookChannel
) -> None:
    result = await channel.send(person_at(server.make_url("/reply/200")), PAGE)

    assert result.ok, result.detail
    assert result.detail == "HTTP 200 OK"
    [body] = sink.received
    assert {k: body[k] for k in ("incident_id", "title", "severity", "level", "person")} == {
        "incident_id": "7",
        "title": "API latency high",
        "severity": "SEV2",
        "level": 1,
        "person": "bob",
    }
    assert body["ack_url"] == "http://tocsin.test/ack/v1.abc.def"
    assert (body["status"], body["kind"]) == ("triggered", "page")
    assert body["text"] == "[SEV2] Tocsin #7: API latency high\nhttp://tocsin.test/ack/v1.abc.def"


async def test_a_severity_raised_notice_says_so_in_its_text(
    server: TestServer, sink: Sink, channel: WebhookChannel
) -> None:
    note = PAGE.model_copy(
        update={"kind": "severity_raised", "status": IncidentStatus.ACKNOWLEDGED, "ack_url": None}
    )

    assert (await channel.send(person_at(server.make_url("/reply/200")), note)).ok

    [body] = sink.received
    assert (body["kind"], body["severity"]) == ("severity_raised", "SEV2")
    assert body["text"] == "[NOW SEV2] Tocsin #7: API latency high"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False)],
)
async def test_http_errors(
    server: TestServer, channel: WebhookChannel, status: int, retryable: bool
) -> None:
    result = await channel.send(person_at(server.make_url(f"/reply/{status}")), PAGE)
    assert (result.ok, result.retryable) == (False, retryable)
    assert result.detail.startswith(f"HTTP {status}")


async def test_redirect_is_not_followed(
    server: TestServer, sink: Sink, channel: WebhookChannel
) -> None:
    result = await channel.send(person_at(server.make_url("/reply/302")), PAGE)
    assert (result.ok, result.retryable) == (False, False)
    assert len(sink.received) == 1


async def test_closed_port_is_retryable(channel: WebhookChannel) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await channel.send(person_at(f"http://127.0.0.1:{port}/hook"), PAGE)
    assert (result.ok, result.retryable) == (False, True)


async def test_timeout_is_retryable(server: TestServer, clock: ManualClock) -> None:
    channel = WebhookChannel(clock, timeout=timedelta(milliseconds=50))
    try:
        result = await channel.send(person_at(server.make_url("/hang")), PAGE)
    finally:
        await channel.aclose()
    assert (result.ok, result.retryable) == (False, True)


async def test_sends_again_after_aclose(
    server: TestServer, sink: Sink, channel: WebhookChannel
) -> None:
    bob = person_at(server.make_url("/reply/200"))
    assert (await channel.send(bob, PAGE)).ok
    await channel.aclose()
    assert (await channel.send(bob, PAGE)).ok
    assert len(sink.received) == 2


def test_reaches_only_people_with_a_webhook(clock: ManualClock) -> None:
    channel = WebhookChannel(clock)
    assert channel.reaches(Person(name="Bob", webhook="https://hooks.example.com/x"))
    assert not channel.reaches(Person(name="Bob"))


# --- signed requests -------------------------------------------------------------------

SECRET = "whsec-3f9a1c"


def readme_verify() -> Callable[[bytes, Mapping[str, str], bytes], bool]:
    """The verification recipe of the README, run as written there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("**Signed webhooks**")
    found = re.search(r"```python\n(.*?)```", readme[start:], re.DOTALL)
    assert found is not None, "no recipe after **Signed webhooks**"
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(found.group(1)), namespace)
    verify: Callable[[bytes, Mapping[str, str], bytes], bool] = namespace["verify"]
    return verify


class SignedReceiver:
    """A receiver that trusts a request only when the README's recipe says so."""

    def __init__(self) -> None:
        self.verify = readme_verify()
        self.verdicts: list[bool] = []

    async def receive(self, request: web.Request) -> web.Response:
        verdict = self.verify(SECRET.encode(), request.headers, await request.read())
        self.verdicts.append(verdict)
        return web.Response(status=204 if verdict else 401)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[SignedReceiver, TestServer]]:
    receiver = SignedReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield receiver, server
    finally:
        await server.close()


async def send_signed(
    url: str, clock: ManualClock, *, person_secret: str | None, default: str | None = None
) -> DeliveryResult:
    channel = WebhookChannel(clock, default_secret=SecretStr(default) if default else None)
    person = Person(name="Bob", webhook=url, webhook_secret=person_secret)
    try:
        return await channel.send(person, PAGE)
    finally:
        await channel.aclose()


def a_clock_at_the_real_time() -> ManualClock:
    # The recipe compares the timestamp with time.time(), as a receiver does.
    return ManualClock(datetime.now(UTC))


async def test_a_signed_request_passes_the_readme_recipe(
    receiver: tuple[SignedReceiver, TestServer],
) -> None:
    checker, server = receiver

    result = await send_signed(
        str(server.make_url("/hook")), a_clock_at_the_real_time(), person_secret=SECRET
    )

    assert result.ok, result.detail
    assert checker.verdicts == [True]


async def test_the_top_level_secret_signs_for_people_without_one(
    receiver: tuple[SignedReceiver, TestServer],
) -> None:
    checker, server = receiver

    result = await send_signed(
        str(server.make_url("/hook")),
        a_clock_at_the_real_time(),
        person_secret=None,
        default=SECRET,
    )

    assert result.ok, result.detail
    assert checker.verdicts == [True]


@pytest.mark.parametrize(
    ("secret", "late"),
    [("another-secret", timedelta(0)), (SECRET, timedelta(minutes=6))],
    ids=["wrong secret", "replayed after 6 minutes"],
)
async def test_the_recipe_refuses_forged_and_old_requests(
    receiver: tuple[SignedReceiver, TestServer], secret: str, late: timedelta
) -> None:
    checker, server = receiver
    clock = a_clock_at_the_real_time()
    clock.advance(-late)

    result = await send_signed(str(server.make_url("/hook")), clock, person_secret=secret)

    assert (result.ok, result.retryable) == (False, False)
    assert checker.verdicts == [False]


async def test_unsigned_requests_have_no_signature_headers(clock: ManualClock) -> None:
    seen: list[Mapping[str, str]] = []

    async def keep(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", keep)
    plain = TestServer(app, host="127.0.0.1")
    await plain.start_server()
    try:
        assert (await send_signed(str(plain.make_url("/hook")), clock, person_secret=None)).ok
    finally:
        await plain.close()
    [headers] = seen
    assert "X-Tocsin-Signature" not in headers
    assert "X-Tocsin-Timestamp" not in headers


def test_the_signature_covers_timestamp_and_body() -> None:
    headers = signature_headers(b"k", 1772452800, b'{"a":1}')
    expected = hmac.new(b"k", b'1772452800.{"a":1}', hashlib.sha256).hexdigest()
    assert headers == {
        "X-Tocsin-Timestamp": "1772452800",
        "X-Tocsin-Signature": f"sha256={expected}",
    }
