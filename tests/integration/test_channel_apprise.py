"""Apprise, by its own ``json://`` service into a local sink: what arrives, and failures
reported without the URLs (they hold tokens)."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.channels import DeliveryResult, Notification
from notifier.channels.apprise import AppriseChannel
from notifier.config import Person
from router.config import Severity
from router.models import IncidentStatus
from tests.integration.chat_peers import Hold, serving

ACK = "https://tocsin.example.com/ack/v1.abc.def"
PAGE = Notification(
    kind="page",
    incident_id="8",
    title="Payments down",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="dan",
    person_name="Dan",
    ack_url=ACK,
)
TOKEN = "tok3n-in-the-url"


class Sink:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.hold = Hold()

    async def take(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "slow":
            await self.hold.forever()
        if name.startswith("fail"):
            return web.Response(status=500)
        self.received.append((name, await request.json()))
        return web.Response(status=200)


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, TestServer]]:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/{name}", sink.take)
    async with serving(app, sink.hold) as server:
        yield sink, server


def targets(server: TestServer, *names: str) -> Person:
    port = server.port
    return Person(name="Dan", apprise=[f"json://127.0.0.1:{port}/{n}?token={TOKEN}" for n in names])


async def send(person: Person, seconds: float = 5) -> DeliveryResult:
    return await AppriseChannel(timedelta(seconds=seconds)).send(person, PAGE)


async def test_title_and_text_arrive_through_apprise(sink: tuple[Sink, TestServer]) -> None:
    received, server = sink

    result = await send(targets(server, "pager", "phone"))

    assert result.ok, result.detail
    assert result.detail == "Apprise: delivered by 2 services"
    assert sorted(name for name, _ in received.received) == ["pager", "phone"]
    _, body = received.received[0]
    assert body["title"] == "[SEV1] Tocsin #8: Payments down"
    assert f"Acknowledge: {ACK}" in body["message"]
    assert body["type"] == "failure"


async def test_a_failing_service_fails_the_send_without_showing_its_url(
    sink: tuple[Sink, TestServer],
) -> None:
    _, server = sink

    result = await send(targets(server, "fail"))

    assert (result.ok, result.retryable) == (False, True)
    assert result.detail == "Apprise: not delivered by JSON"
    assert TOKEN not in result.detail


async def test_one_failing_service_of_two_is_a_retryable_failure(
    sink: tuple[Sink, TestServer],
) -> None:
    received, server = sink

    result = await send(targets(server, "pager", "fail"))

    assert (result.ok, result.retryable) == (False, True)
    assert result.detail == "Apprise: 1 of 2 services took it; not JSON"
    assert [name for name, _ in received.received] == ["pager"]


async def test_a_service_that_does_not_answer_in_time_is_retryable(
    sink: tuple[Sink, TestServer],
) -> None:
    _, server = sink

    result = await send(targets(server, "slow"), seconds=0.2)

    assert (result.ok, result.retryable) == (False, True)
    assert "within 0.2s" in result.detail


def test_reaches_only_people_with_apprise_urls() -> None:
    assert AppriseChannel().reaches(Person(name="A", apprise=["json://127.0.0.1:1/x"]))
    assert not AppriseChannel().reaches(Person(name="A", console=True))
