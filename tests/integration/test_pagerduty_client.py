"""PagerDuty's own Python client (``pagerduty`` on PyPI), which speaks only https, pointed
at Tocsin's web role serving TLS with a self-signed certificate it is told to trust; the
router runs in-process on the real Valkey. Trigger, acknowledge and resolve move the
incident as they would move PagerDuty's."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pagerduty
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.changes import ChangeLog
from ingest.stream import alert_stream
from router import keys
from router.consumer import Router
from router.models import IncidentStatus
from tests.certificates import self_signed
from tests.e2e.conftest import free_port
from tocsin.config import load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, running
from tocsin.settings import Settings

KEY = "e93facc04764012d7bfb002500d5d1a6"
CONFIG = f"""
integrations:
  - {{name: pd-prod, type: pagerduty, token: {KEY}}}
people:
  alice: {{name: Alice, console: true}}
escalation_policies:
  db:
    levels:
      - {{targets: [person:alice], ack_timeout: 5m}}
routes:
  - {{match: {{component: mysql}}, policy: db, group_by: [group]}}
severity:
  - {{match: {{severity: critical}}, level: SEV1}}
  - {{match: {{}}, level: SEV3}}
"""


class Served:
    def __init__(self, url: str, ca: Path, router: Router) -> None:
        self.url, self.ca, self.router = url, ca, router

    def client(self) -> pagerduty.EventsApiV2Client:
        return pagerduty.EventsApiV2Client(
            KEY, base_url=self.url, verify=ssl.create_default_context(cafile=self.ca)
        )

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A blocking client call, in a thread, while this loop serves it."""
        with self.client() as client:
            return await asyncio.to_thread(getattr(client, method), *args, **kwargs)


@pytest.fixture
async def served(tmp_path: Path, redis: Redis, valkey_url: str) -> AsyncIterator[Served]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(CONFIG)
    cert, key = self_signed(tmp_path)
    settings = Settings(
        config_path=config, port=free_port(), redis_url=valkey_url, tls_cert=cert, tls_key=key
    )
    loaded = load_config(config)
    runtime = Runtime(settings, loaded, redis, b"k" * 32, tls=settings.tls())
    await alert_stream(redis).ensure_group(keys.CONSUMER_GROUP)
    router = Router(redis, loaded.routing, "test-router", CollectorRegistry(), runtime.clock)
    async with running(runtime, [Role.WEB]) as service:
        assert service.url.startswith("https://")
        yield Served(service.url, cert, router)


async def test_trigger_acknowledge_resolve_through_pagerdutys_client(served: Served) -> None:
    store = served.router.store
    dedup_key = await served.call(
        "trigger",
        "DISK at 99% on prod-datapipe03",
        "prod-datapipe03.example.com",
        dedup_key="srv01/mysql",
        payload={"component": "mysql", "group": "prod-datapipe"},
        custom_details={"free space": "1%"},
        links=[{"href": "https://wiki.example.com/runbooks/disk", "text": "Runbook"}],
    )
    assert dedup_key == "srv01/mysql"
    assert await served.router.step() == 1
    (incident,) = await store.list()
    assert (incident.title, incident.status, incident.severity.value) == (
        "DISK at 99% on prod-datapipe03",
        IncidentStatus.TRIGGERED,
        "SEV1",
    )
    (alert,), _ = await store.alerts(incident.id)
    assert alert.annotations["free space"] == "1%"

    assert await served.call("acknowledge", dedup_key) == dedup_key
    assert await served.router.step() == 1
    acknowledged = await store.get(incident.id)
    assert acknowledged is not None
    assert (acknowledged.status, acknowledged.acknowledged_by) == (
        IncidentStatus.ACKNOWLEDGED,
        "pagerduty:pd-prod",
    )

    await served.call("resolve", dedup_key)
    assert await served.router.step() == 1
    resolved = await store.get(incident.id)
    assert resolved is not None
    assert resolved.status is IncidentStatus.RESOLVED


async def test_a_trigger_without_a_key_is_given_one(served: Served) -> None:
    dedup_key = await served.call(
        "trigger", "Replica lag", "db-2", severity="warning", payload={"component": "mysql"}
    )
    assert len(dedup_key) == 32
    assert await served.router.step() == 1
    (incident,) = await served.router.store.list()
    (alert,), _ = await served.router.store.alerts(incident.id)
    assert alert.dedup_key == dedup_key


async def test_a_malformed_event_gets_pagerdutys_400(served: Served) -> None:
    with pytest.raises(pagerduty.HttpError) as raised:
        await served.call("trigger", "Checkout slow", "web-1", severity="fatal")
    response = raised.value.response
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["payload.severity: Input should be 'critical', 'error', 'warning' or 'info'"],
    }


async def test_a_change_event_through_pagerdutys_client(served: Served, redis: Redis) -> None:
    await served.call(
        "submit",
        "Deployed checkout v2.3",
        source="ci",
        custom_details={"build": 118},
        timestamp="2026-03-02T12:00:00Z",
    )
    (change,) = await ChangeLog(redis).latest(["pd-prod"], 10)
    assert (change.summary, change.source, change.custom_details) == (
        "Deployed checkout v2.3",
        "ci",
        {"build": "118"},
    )


async def test_plain_http_is_not_served_on_the_tls_port(served: Served) -> None:
    host, port = served.url.removeprefix("https://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = await reader.read(100)
    writer.close()
    assert not answer.startswith(b"HTTP/1.1 200")
