"""The application as ``tocsin web`` serves it (``make_app`` over a ``Runtime``), against the
real Valkey: incidents made through the real webhook and router, read back from
``/api/v1``; health and metrics; and JSON errors, never a traceback, when things break."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.stream import alert_stream
from router import keys
from router.consumer import Router
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload, free_port
from tocsin.app import make_app
from tocsin.config import LoadedConfig, load_config
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.store import connect
from tocsin.tokens import Scope, TokenStore, new_token

DEPLOY = Path(__file__).parents[2] / "deploy" / "tocsin.yaml"
WEBHOOK = "/v1/webhooks/alertmanager/s3cret"
SUMMARY = "p99 latency above 2s on payments"  # what alertmanager_payload annotates

Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def loaded() -> LoadedConfig:
    return load_config(DEPLOY)


@asynccontextmanager
async def serve(runtime: Runtime, token: str | None = None) -> AsyncIterator[Client]:
    """A client of the app that sends ``token`` with every request."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(make_app(runtime)), headers=headers) as client:
        yield client


@pytest.fixture
def runtime(loaded: LoadedConfig, redis: Redis, valkey_url: str, clock: ManualClock) -> Runtime:
    return Runtime(Settings(), loaded, redis, b"link-signing-key", clock=clock)


@pytest.fixture
async def client(runtime: Runtime, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    """With a write token, as a script that acts on incidents has."""
    token, _ = await TokenStore(redis).create("tests", Scope.WRITE, clock())
    async with serve(runtime, token) as client:
        yield client


@pytest.fixture
async def router(redis: Redis, loaded: LoadedConfig, clock: ManualClock) -> Router:
    await alert_stream(redis).ensure_group(keys.CONSUMER_GROUP)
    return Router(redis, loaded.routing, "test-router", CollectorRegistry(), clock)


async def send(
    client: Client, router: Router, status: str = "firing", **alert: str
) -> dict[str, Any]:
    """One alert through the webhook, then through the router (it returns at once: the
    entry is already on the stream)."""
    response = await client.post(WEBHOOK, json=alertmanager_payload(status, **alert))
    assert response.status == 202, await response.text()
    body: dict[str, Any] = await response.json()
    assert await router.step() == body["accepted"] == 1
    return body


async def get_json(client: Client, path: str, status: int = 200) -> Any:
    response = await client.get(path)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def three_incidents(client: Client, router: Router, clock: ManualClock) -> None:
    """HighLatency (fired twice), then ErrorRate 5 minutes later, then DiskFull 5 more."""
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    clock.advance(timedelta(minutes=1))
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    clock.advance(timedelta(minutes=4))
    await send(client, router, alertname="ErrorRate", fingerprint="f2")
    clock.advance(timedelta(minutes=5))
    await send(client, router, alertname="DiskFull", fingerprint="f3")


# --- /api/v1/incidents -------------------------------------------------------------------


async def test_no_incidents(client: Client) -> None:
    answer = await get_json(client, "/api/v1/incidents")
    assert answer == {"incidents": [], "next_cursor": None, "truncated": False}


async def test_incidents_newest_first(client: Client, router: Router, clock: ManualClock) -> None:
    await three_incidents(client, router, clock)

    body = await get_json(client, "/api/v1/incidents")

    incidents = body["incidents"]
    assert [i["group_labels"]["alertname"] for i in incidents] == [
        "DiskFull",
        "ErrorRate",
        "HighLatency",
    ]
    assert [i["created_at"] for i in incidents] == [
        "2026-03-02T12:10:00Z",
        "2026-03-02T12:05:00Z",
        "2026-03-02T12:00:00Z",
    ]


async def test_an_incident_as_json(client: Client, router: Router, clock: ManualClock) -> None:
    await three_incidents(client, router, clock)

    head = (await get_json(client, "/api/v1/incidents"))["incidents"][-1]
    # The list holds heads: what each incident is, and how many alerts, not the alerts.
    assert (head["alerts_total"], head["alerts_firing"]) == (1, 1)
    assert "alerts" not in head
    assert "timeline" not in head
    oldest = await get_json(client, f"/api/v1/incidents/{head['id']}")
    assert {k: oldest[k] for k in head} == head

    assert oldest["title"] == SUMMARY
    assert oldest["status"] == "triggered"
    assert oldest["severity"] == "SEV1"
    assert (oldest["route"], oldest["policy"]) == ("route-1", "payments")
    assert oldest["group_labels"] == {"alertname": "HighLatency", "cluster": "eu1"}
    # Alerts are a list (their keys in the store are internal), with their counts.
    assert isinstance(oldest["alerts"], list)
    (alert,) = oldest["alerts"]
    assert alert["count"] == 2
    assert alert["status"] == "firing"
    assert alert["labels"]["alertname"] == "HighLatency"
    assert (alert["first_seen"], alert["last_seen"]) == (
        "2026-03-02T12:00:00Z",
        "2026-03-02T12:01:00Z",
    )
    assert [(e["kind"], e["at"]) for e in oldest["timeline"]] == [
        ("created", "2026-03-02T12:00:00Z"),
        ("alert_added", "2026-03-02T12:00:00Z"),
    ]


async def test_a_resolved_incident_shows_it_in_its_timeline(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    clock.advance(timedelta(minutes=3))
    await send(client, router, "resolved", alertname="HighLatency", fingerprint="f1")

    (head,) = (await get_json(client, "/api/v1/incidents"))["incidents"]
    incident = await get_json(client, f"/api/v1/incidents/{head['id']}")

    assert incident["status"] == "resolved"
    assert incident["resolved_at"] == "2026-03-02T12:03:00Z"
    assert incident["alerts"][0]["status"] == "resolved"
    assert [e["kind"] for e in incident["timeline"]] == [
        "created",
        "alert_added",
        "alert_resolved",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("query", "alertnames"),
    [
        ("limit=1", ["DiskFull"]),
        ("limit=2", ["DiskFull", "ErrorRate"]),
        ("limit=1&offset=1", ["ErrorRate"]),
        ("offset=2", ["HighLatency"]),
        ("offset=3", []),
        ("limit=500&offset=1000000000", []),
    ],
)
async def test_paging_through_incidents(
    client: Client, router: Router, clock: ManualClock, query: str, alertnames: list[str]
) -> None:
    await three_incidents(client, router, clock)

    body = await get_json(client, f"/api/v1/incidents?{query}")

    assert [i["group_labels"]["alertname"] for i in body["incidents"]] == alertnames


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=",
        "limit=0",
        "limit=501",
        "limit=1.5",
        "limit=%2B5",  # +5
        "limit=%205",  # " 5"
        "limit=5_0",
        "limit=%D9%A3",  # ARABIC-INDIC DIGIT THREE
        "offset=-1",
        "offset=x",
        "offset=1000000001",
        # Past Redis's 64-bit ranges: a client's mistake, not an outage (this was a 503).
        "offset=9223372036854775807",
        "offset=99999999999999999999999",
    ],
)
async def test_bad_limit_or_offset_is_400_json(client: Client, query: str) -> None:
    body = await get_json(client, f"/api/v1/incidents?{query}", status=400)

    assert set(body) == {"error"}
    assert "limit" in body["error"]


async def test_one_incident_by_id(client: Client, router: Router, clock: ManualClock) -> None:
    await three_incidents(client, router, clock)
    listed = (await get_json(client, "/api/v1/incidents"))["incidents"]

    for head in listed:
        one = await get_json(client, f"/api/v1/incidents/{head['id']}")
        assert {k: one[k] for k in head} == head
        assert [a["dedup_key"] for a in one["alerts"]] == [f"f{head['id']}"]
        assert one["alerts_next_cursor"] is None


async def test_an_incidents_alerts_come_in_pages(
    client: Client, router: Router, clock: ManualClock
) -> None:
    for n in range(5):
        await send(client, router, alertname="HighLatency", fingerprint=f"a{n}")
        clock.advance(timedelta(seconds=1))
    seen: list[str] = []
    cursor: int | None = 0
    while cursor is not None:
        page = await get_json(client, f"/api/v1/incidents/1?alerts_limit=2&alerts_cursor={cursor}")
        assert len(page["alerts"]) <= 2
        seen += [alert["dedup_key"] for alert in page["alerts"]]
        cursor = page["alerts_next_cursor"]
    assert seen == ["a4", "a3", "a2", "a1", "a0"]  # the most recently seen first


@pytest.mark.parametrize(
    "query", ["alerts_limit=0", "alerts_limit=1001", "alerts_limit=x", "alerts_cursor=-1"]
)
async def test_bad_alert_paging_is_400_json(
    client: Client, router: Router, clock: ManualClock, query: str
) -> None:
    await send(client, router)
    response = await client.get(f"/api/v1/incidents/1?{query}")
    body = await assert_json_error(response, 400)
    assert "alerts_limit must be 1..1000" in body["error"]


async def test_an_unknown_incident_is_404_json(client: Client) -> None:
    body = await get_json(client, "/api/v1/incidents/12345", status=404)

    assert body == {"error": "no such incident"}


async def test_unknown_api_paths_and_methods_are_json_too(client: Client) -> None:
    assert await get_json(client, "/api/v1/incidents/", status=404) == {"error": "not found"}
    assert await get_json(client, "/api/v1/nothing", status=404) == {"error": "not found"}

    response = await client.delete("/api/v1/incidents")
    assert response.status == 405
    assert response.content_type == "application/json"
    assert await response.json() == {"error": "method not allowed"}
    assert "GET" in response.headers["Allow"]


# --- health and metrics ------------------------------------------------------------------


async def test_healthz_says_the_configuration_version(client: Client, loaded: LoadedConfig) -> None:
    assert len(loaded.version) == 12
    expected = {"status": "ok", "config_version": loaded.version}
    assert await get_json(client, "/healthz") == expected


async def test_metrics_count_received_alerts(client: Client, router: Router) -> None:
    before = await client.get("/metrics")
    assert before.status == 200
    assert before.content_type == "text/plain"
    # Exported from the start, at zero, for every integration.
    text = await before.text()
    assert 'tocsin_alerts_received_total{integration="prod-am",source="alertmanager"} 0.0' in text
    assert 'tocsin_alerts_received_total{integration="custom",source="generic"} 0.0' in text

    await send(client, router, alertname="HighLatency", fingerprint="f1")
    await send(client, router, alertname="ErrorRate", fingerprint="f2")

    after = await (await client.get("/metrics")).text()
    assert 'tocsin_alerts_received_total{integration="prod-am",source="alertmanager"} 2.0' in after


# --- when things break: JSON errors, never a traceback -----------------------------------


@pytest.fixture
async def unreachable(loaded: LoadedConfig, clock: ManualClock) -> AsyncIterator[Client]:
    """The app over a Redis client whose server is not there (a closed local port)."""
    redis = connect(f"redis://127.0.0.1:{free_port()}")
    try:
        runtime = Runtime(Settings(), loaded, redis, b"link-signing-key", clock=clock)
        async with serve(runtime, new_token()) as client:
            yield client
    finally:
        await redis.aclose()


async def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json"
    assert "Traceback" not in text
    assert 'File "' not in text
    body: dict[str, Any] = await response.json()
    return body


async def test_not_ready_without_redis_but_alive(unreachable: Client) -> None:
    response = await unreachable.get("/readyz")
    body = await assert_json_error(response, 503)

    # Says what is down, not where it lives.
    assert body == {"status": "unavailable", "redis": "unreachable"}
    assert response.headers["Retry-After"] == "5"
    # The process itself is fine: a liveness probe must not restart it for the store's sake.
    assert (await unreachable.get("/healthz")).status == 200


async def test_webhook_is_503_without_redis(unreachable: Client) -> None:
    response = await unreachable.post(WEBHOOK, json=alertmanager_payload("firing"))

    body = await assert_json_error(response, 503)
    # 503 tells Alertmanager to send it again later.
    assert "retry later" in body["error"]


@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/incidents/1"])
async def test_api_is_503_without_redis(unreachable: Client, path: str) -> None:
    body = await assert_json_error(await unreachable.get(path), 503)

    assert body == {"error": "storage unavailable, try again"}


async def test_an_unexpected_error_is_500_json(client: Client, redis: Redis) -> None:
    # A document the store cannot read: whatever fails in a handler, the client sees JSON.
    await redis.set(keys.incident("7"), b"{not json")

    body = await assert_json_error(await client.get("/api/v1/incidents/7"), 500)

    assert body == {"error": "internal error"}
