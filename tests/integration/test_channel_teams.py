"""Microsoft Teams by a workflow webhook, against a local workflow that checks the card."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from notifier.channels import AlertLink, AlertSummary, DeliveryResult, Notification
from notifier.channels.teams import TeamsChannel
from notifier.config import Person
from router.config import Severity
from router.models import IncidentStatus
from tests.integration.chat_peers import WorkflowPeer, serving

ACK = "https://tocsin.example.com/ack/v1.abc.def"
PAGE = Notification(
    kind="page",
    incident_id="31",
    title="Queue backlog growing",
    severity=Severity.SEV2,
    status=IncidentStatus.TRIGGERED,
    level=2,
    person="bob",
    person_name="Bob",
    ack_url=ACK,
    alerts=(
        AlertSummary(
            summary="Backlog 12k *jobs*",
            labels={"queue": "emails"},
            links=(AlertLink(title="Dashboard", url="https://grafana.example/d/q"),),
        ),
    ),
)


@pytest.fixture
async def teams() -> AsyncIterator[tuple[WorkflowPeer, TestServer]]:
    peer = WorkflowPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, server


async def send(
    server: TestServer, name: str, note: Notification = PAGE, seconds: float = 5
) -> DeliveryResult:
    channel = TeamsChannel(timeout=timedelta(seconds=seconds))
    person = Person(name="Bob", teams_webhook=str(server.make_url(f"/workflows/{name}")))
    try:
        return await channel.send(person, note)
    finally:
        await channel.aclose()


async def test_the_workflow_gets_an_adaptive_card_with_an_acknowledge_button(
    teams: tuple[WorkflowPeer, TestServer],
) -> None:
    peer, server = teams

    result = await send(server, "oncall")

    assert result.ok, result.detail
    assert result.detail == "HTTP 202 Accepted"
    [card] = peer.cards
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": ACK}]
    texts = [block.get("text", "") for block in card["body"]]
    assert texts[0] == r"\[SEV2\] Tocsin #31: Queue backlog growing"
    assert "Bob, you are paged (escalation level 2)." in texts
    assert (
        r"- Backlog 12k \*jobs\* \[queue=emails\] ([Dashboard](https://grafana.example/d/q))"
        in texts
    )


async def test_an_acknowledged_notice_has_no_button(
    teams: tuple[WorkflowPeer, TestServer],
) -> None:
    peer, server = teams
    note = PAGE.model_copy(
        update={
            "kind": "acknowledged",
            "status": IncidentStatus.ACKNOWLEDGED,
            "ack_url": None,
            "acknowledged_by": "Alice",
        }
    )

    assert (await send(server, "oncall", note)).ok

    [card] = peer.cards
    assert card["actions"] == []
    assert any("acknowledged by Alice" in block.get("text", "") for block in card["body"])


@pytest.mark.parametrize(
    ("name", "retryable"),
    [("fail-400", False), ("fail-404", False), ("fail-429", True), ("fail-502", True)],
)
async def test_refusals(teams: tuple[WorkflowPeer, TestServer], name: str, retryable: bool) -> None:
    _, server = teams

    result = await send(server, name)

    assert (result.ok, result.retryable) == (False, retryable)


async def test_a_workflow_that_does_not_answer_in_time_is_retryable(
    teams: tuple[WorkflowPeer, TestServer],
) -> None:
    _, server = teams

    result = await send(server, "slow", seconds=0.05)

    assert (result.ok, result.retryable) == (False, True)
