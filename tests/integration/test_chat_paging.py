"""The service pages people on the chat channels of the configuration: an alert in, a page
in the local Slack, Teams, Mattermost and Apprise sink, and Slack's button acknowledges."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from router.models import IncidentStatus
from router.store import IncidentStore
from tests.e2e.conftest import alertmanager_payload, eventually, free_port
from tests.integration.chat_peers import Hold, SlackPeer, WorkflowPeer, serving
from tocsin.config import load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, Running, running
from tocsin.settings import Settings


class AppriseSink:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def take(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.Response()


@pytest.fixture
async def peers() -> AsyncIterator[tuple[SlackPeer, WorkflowPeer, AppriseSink, TestServer]]:
    slack, workflows, apprise = SlackPeer(), WorkflowPeer(), AppriseSink()
    app = web.Application()
    app.add_subapp("/slack", slack.app())
    app.add_subapp("/chat", workflows.app())
    app.router.add_post("/apprise", apprise.take)
    hold = Hold()
    async with serving(app, hold) as server:
        yield slack, workflows, apprise, server


@pytest.fixture
async def service(
    tmp_path: Path,
    redis: Redis,
    valkey_url: str,
    peers: tuple[SlackPeer, WorkflowPeer, AppriseSink, TestServer],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Running]:
    *_, server = peers
    monkeypatch.setenv("TOCSIN_TEST_SLACK_TOKEN", SlackPeer.TOKEN)
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        f"""
integrations: [{{name: prod-am, type: alertmanager, token: s3cret}}]
slack: {{bot_token: env:TOCSIN_TEST_SLACK_TOKEN, api_url: "{server.make_url("/slack/api")}"}}
people:
  alice:
    name: Alice
    slack_user: U012AB3CD
    teams_webhook: "{server.make_url("/chat/workflows/oncall")}"
    mattermost_webhook: "{server.make_url("/chat/hooks/mattermost/oncall")}"
    apprise: ["json://127.0.0.1:{server.port}/apprise"]
escalation_policies:
  p: {{levels: [{{targets: [person:alice], ack_timeout: 5m}}]}}
routes: [{{policy: p}}]
"""
    )
    settings = Settings(
        config_path=config,
        port=free_port(),
        redis_url=valkey_url,
        escalation_poll=timedelta(milliseconds=50),
    )
    runtime = Runtime(settings, load_config(config), redis, b"k" * 32)
    async with running(runtime, list(Role)) as svc:
        yield svc


async def test_an_alert_pages_on_every_chat_channel_and_slack_acknowledges(
    service: Running,
    redis: Redis,
    peers: tuple[SlackPeer, WorkflowPeer, AppriseSink, TestServer],
) -> None:
    slack, workflows, apprise, _ = peers
    payload = alertmanager_payload("firing")
    payload["alerts"][0]["annotations"]["runbook_url"] = "https://wiki.example/latency"

    async with aiohttp.ClientSession() as http:
        hook = f"{service.url}/v1/webhooks/alertmanager/s3cret"
        async with http.post(hook, json=payload) as response:
            assert response.status == 202

        def everyone_paged() -> bool:
            return bool(slack.posted and workflows.cards and workflows.texts and apprise.received)

        await eventually(everyone_paged, what="a page on every chat channel")

        [post] = slack.posted
        assert post["channel"] == "U012AB3CD"
        sections = " ".join(b["text"]["text"] for b in post["blocks"] if b["type"] == "section")
        assert "<https://wiki.example/latency|Runbook>" in sections
        [button] = next(b["elements"] for b in post["blocks"] if b["type"] == "actions")
        assert button["url"].startswith(f"{service.url}/ack/")
        assert [action["url"] for action in workflows.cards[0]["actions"]] == [button["url"]]
        assert apprise.received[0]["title"].startswith("[SEV2] Tocsin #")

        async with http.post(button["url"]) as clicked:
            assert clicked.status == 200

    [incident] = await IncidentStore(redis).list()
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")
