"""Mattermost and Rocket.Chat incoming webhooks: one channel class, a Markdown message."""

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestServer

from notifier.channels import AlertSummary, Notification
from notifier.channels.chathooks import ChatHookChannel, mattermost, rocketchat
from notifier.config import Person
from router.config import Severity
from router.models import IncidentStatus
from tests.integration.chat_peers import WorkflowPeer, serving

ACK = "https://tocsin.example.com/ack/v1.abc.def"
PAGE = Notification(
    kind="page",
    incident_id="5",
    title="Disk full",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="carol",
    person_name="Carol",
    ack_url=ACK,
    alerts=(AlertSummary(summary="Disk 99% on db_1", labels={"host": "db_1"}),),
)
TOOLS = {"mattermost": mattermost, "rocketchat": rocketchat}


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[WorkflowPeer, TestServer]]:
    peer = WorkflowPeer()
    async with serving(peer.app(), peer.hold) as server:
        yield peer, server


def person_for(tool: str, url: str) -> Person:
    field = {"mattermost": "mattermost_webhook", "rocketchat": "rocketchat_webhook"}[tool]
    return Person.model_validate({"name": "Carol", field: url})


@pytest.mark.parametrize("tool", TOOLS)
async def test_the_hook_gets_the_markdown_page(
    hooks: tuple[WorkflowPeer, TestServer], tool: str
) -> None:
    peer, server = hooks
    channel = TOOLS[tool]()
    person = person_for(tool, str(server.make_url(f"/hooks/{tool}/abc")))
    try:
        result = await channel.send(person, PAGE)
    finally:
        await channel.aclose()

    assert result.ok, result.detail
    assert channel.name == tool
    [(seen_by, text)] = peer.texts
    assert seen_by == tool
    assert text.startswith(r"**\[SEV1\] Tocsin #5: Disk full**")
    assert f"**[Acknowledge]({ACK})**" in text
    assert r"- Disk 99% on db\_1 \[host=db\_1\]" in text


@pytest.mark.parametrize(
    ("name", "retryable"), [("fail-400", False), ("fail-503", True), ("fail-429", True)]
)
async def test_refusals(hooks: tuple[WorkflowPeer, TestServer], name: str, retryable: bool) -> None:
    _, server = hooks
    channel = mattermost()
    try:
        result = await channel.send(
            person_for("mattermost", str(server.make_url(f"/hooks/mattermost/{name}"))), PAGE
        )
    finally:
        await channel.aclose()

    assert (result.ok, result.retryable) == (False, retryable)


@pytest.mark.parametrize(("tool", "make"), TOOLS.items())
def test_each_reaches_only_its_own_hook(tool: str, make: Callable[[], ChatHookChannel]) -> None:
    other = "rocketchat" if tool == "mattermost" else "mattermost"
    assert make().reaches(person_for(tool, "https://chat.example/hooks/x"))
    assert not make().reaches(person_for(other, "https://chat.example/hooks/x"))
