"""Slack by incoming webhook and by the bot's chat.postMessage, against a local Slack."""

import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from notifier.channels import AlertLink, AlertSummary, DeliveryResult, Notification
from notifier.channels.slack import SlackChannel
from notifier.config import Person, SlackConfig
from router.config import Severity
from router.models import IncidentStatus
from tests.integration.chat_peers import SlackPeer, serving

ACK = "https://tocsin.example.com/ack/v1.WyIxMiIsImFsaWNlIiwxNzcyNDU2NDAwXQ.qodPL0JgTvnubYN2HYx6EQ"
PAGE = Notification(
    kind="page",
    incident_id="12",
    title="Checkout errors",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="alice",
    person_name="Alice",
    ack_url=ACK,
    alerts=(
        AlertSummary(
            summary="Error rate 7% <b>",
            labels={"service": "payments"},
            links=(AlertLink(title="Runbook", url="https://wiki.example/checkout"),),
        ),
    ),
)


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackPeer, TestServer]]:
    peer = SlackPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, server


def bot(server: TestServer, token: str = SlackPeer.TOKEN, seconds: float = 5) -> SlackChannel:
    config = SlackConfig(
        bot_token=token, api_url=str(server.make_url("/api")), timeout=timedelta(seconds=seconds)
    )
    return SlackChannel(config)


async def send(channel: SlackChannel, person: Person, note: Notification = PAGE) -> DeliveryResult:
    try:
        return await channel.send(person, note)
    finally:
        await channel.aclose()


def hooked(server: TestServer, secret: str) -> Person:
    return Person(name="Alice", slack_webhook=str(server.make_url(f"/services/T1/B1/{secret}")))


async def test_an_incoming_webhook_gets_the_block_kit_page(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    peer, server = slack

    result = await send(SlackChannel(), hooked(server, "s3cret"))

    assert result.ok, result.detail
    [body] = peer.hooked
    assert body["text"] == "[SEV1] Tocsin #12: Checkout errors"
    [actions] = [block for block in body["blocks"] if block["type"] == "actions"]
    [button] = actions["elements"]
    assert (button["text"]["text"], button["url"], button["style"]) == (
        "Acknowledge",
        ACK,
        "danger",
    )
    sections = " ".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    assert "Error rate 7% &lt;b&gt; [service=payments]" in sections
    assert "<https://wiki.example/checkout|Runbook>" in sections
    assert "channel" not in body


async def test_the_bot_posts_to_a_member_with_its_token(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    peer, server = slack

    result = await send(bot(server), Person(name="Alice", slack_user="U012AB3CD"))

    assert result.ok, result.detail
    assert "1772452800.000100" in result.detail
    [body] = peer.posted
    assert body["channel"] == "U012AB3CD"
    assert body["text"] == "[SEV1] Tocsin #12: Checkout errors"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "actions"]


async def test_the_bot_posts_a_resolved_notice_to_a_channel_without_buttons(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    peer, server = slack
    note = PAGE.model_copy(
        update={"kind": "resolved", "status": IncidentStatus.RESOLVED, "ack_url": None}
    )

    result = await send(bot(server), Person(name="Ops", slack_channel="C0OPS"), note)

    assert result.ok, result.detail
    [body] = peer.posted
    assert body["channel"] == "C0OPS"
    assert "actions" not in [b["type"] for b in body["blocks"]]


async def test_an_answer_that_arrives_in_pieces_is_read_whole(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    _, server = slack

    result = await send(bot(server), Person(name="Ops", slack_channel="CCHUNKED"))

    assert result.ok, result.detail


@pytest.mark.parametrize(
    ("target", "token", "retryable", "detail"),
    [
        ("C404", SlackPeer.TOKEN, False, "Slack refused: channel_not_found"),
        ("C0OPS", "xoxb-revoked", False, "Slack refused: invalid_auth"),
        ("CRATELIMITED", SlackPeer.TOKEN, True, "Slack refused: ratelimited"),
        ("C429", SlackPeer.TOKEN, True, "HTTP 429 Too Many Requests, retry after 30s"),
        ("C503", SlackPeer.TOKEN, True, "HTTP 503 Service Unavailable"),
    ],
    ids=["channel not found", "invalid auth", "ok false ratelimited", "429", "503"],
)
async def test_what_the_web_api_refuses(
    slack: tuple[SlackPeer, TestServer], target: str, token: str, retryable: bool, detail: str
) -> None:
    _, server = slack

    result = await send(bot(server, token), Person(name="Ops", slack_channel=target))

    assert (result.ok, result.retryable) == (False, retryable)
    assert result.detail.startswith(detail)
    assert token not in result.detail


@pytest.mark.parametrize(
    ("secret", "retryable", "detail"),
    [
        ("archived", False, "HTTP 410 Gone: channel_is_archived"),
        ("fail-404", False, "HTTP 404 Not Found: failed with 404"),
        ("fail-429", True, "HTTP 429 Too Many Requests, retry after 30s"),
        ("fail-500", True, "HTTP 500 Internal Server Error"),
    ],
)
async def test_what_an_incoming_webhook_refuses(
    slack: tuple[SlackPeer, TestServer], secret: str, retryable: bool, detail: str
) -> None:
    _, server = slack

    result = await send(SlackChannel(), hooked(server, secret))

    assert (result.ok, result.retryable) == (False, retryable)
    assert result.detail.startswith(detail)


async def test_a_slack_that_does_not_answer_in_time_is_retryable(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    _, server = slack

    result = await send(bot(server, seconds=0.05), Person(name="Ops", slack_channel="CSLOW"))

    assert (result.ok, result.retryable) == (False, True)


async def test_an_api_url_that_is_not_slack_is_not_retried(
    slack: tuple[SlackPeer, TestServer],
) -> None:
    _, server = slack
    config = SlackConfig(bot_token=SlackPeer.TOKEN, api_url=str(server.make_url("/services/T/B")))

    result = await send(SlackChannel(config), Person(name="Ops", slack_channel="C0OPS"))

    assert (result.ok, result.retryable) == (False, False)
    assert "not a Slack API answer" in result.detail


async def test_a_closed_port_is_retryable_and_a_bad_url_is_not() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = Person(name="A", slack_webhook=f"http://127.0.0.1:{port}/services/T/B/x")
    bad = Person(name="A", slack_webhook="http://127.0.0.1:99999/services/T/B/s3cret")

    refused = await send(SlackChannel(), closed)
    invalid = await send(SlackChannel(), bad)

    assert (refused.ok, refused.retryable) == (False, True)
    assert (invalid.ok, invalid.retryable) == (False, False)
    assert "s3cret" not in invalid.detail


def test_reaches_people_with_a_webhook_and_with_an_id_only_with_a_bot() -> None:
    config = SlackConfig(bot_token="xoxb-1")
    member = Person(name="A", slack_user="U1")
    hook = Person(name="B", slack_webhook="https://hooks.slack.com/services/T/B/x")
    assert SlackChannel(config).reaches(member)
    assert not SlackChannel().reaches(member)
    assert SlackChannel().reaches(hook)
    assert not SlackChannel(config).reaches(Person(name="C", email="c@example.com"))
