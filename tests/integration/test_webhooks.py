"""The webhook endpoint over real HTTP (aiohttp test server) against the real Valkey."""

import io
import json
import re
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.config import HEARTBEAT, Integration
from ingest.models import Alert
from ingest.sources import SOURCES
from ingest.stream import TypedStream, alert_stream
from ingest.web import MAX_BODY_BYTES, MAX_REPORTED_ERRORS, Webhooks, add_routes
from tests.conftest import ManualClock

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
ALERTMANAGER = Integration(name="prod-alertmanager", type="alertmanager", token="am-s3cret")
GENERIC = Integration(name="cron", type="generic", token="gen-s3cret")
AM_URL = "/v1/webhooks/alertmanager/am-s3cret"
GENERIC_URL = "/v1/webhooks/generic/gen-s3cret"
UNKNOWN = {"error": "unknown webhook"}

Client = TestClient[web.Request, web.Application]


def payload(source: str, name: str) -> Any:
    return json.loads((PAYLOADS / source / f"{name}.json").read_text())


@asynccontextmanager
async def serve(webhooks: Webhooks) -> AsyncIterator[Client]:
    app = web.Application()
    add_routes(app, webhooks)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(
    redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> AsyncIterator[Client]:
    webhooks = Webhooks(
        integrations=[ALERTMANAGER, GENERIC],
        stream=alert_stream(redis),
        registry=registry,
        clock=clock,
    )
    async with serve(webhooks) as client:
        yield client


async def on_stream(redis: Redis) -> list[Alert]:
    stream = alert_stream(redis)
    await stream.ensure_group("test-reader")
    entries = await stream.read("test-reader", "test", count=1000, block=None)
    assert all(entry.model is not None for entry in entries)
    return [entry.model for entry in entries if entry.model is not None]


def rejected(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value("tocsin_webhooks_rejected_total", {"reason": reason})


def received(registry: CollectorRegistry, integration: Integration) -> float | None:
    labels = {"integration": integration.name, "source": integration.type}
    return registry.get_sample_value("tocsin_alerts_received_total", labels)


async def test_an_alertmanager_group_is_on_the_stream_when_accepted(
    client: Client, redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> None:
    body = payload("alertmanager", "grouped_firing")
    response = await client.post(AM_URL, json=body)
    assert (response.status, await response.json()) == (202, {"accepted": 3})
    assert await on_stream(redis) == SOURCES["alertmanager"].parse(body, ALERTMANAGER, clock.now)
    assert received(registry, ALERTMANAGER) == 3


@pytest.mark.parametrize(
    ("url", "source", "name", "count"),
    [
        (AM_URL, "alertmanager", "firing", 1),
        (AM_URL, "alertmanager", "resolved", 1),
        (GENERIC_URL, "generic", "single", 1),
        (GENERIC_URL, "generic", "list", 2),
        (GENERIC_URL, "generic", "resolved", 1),
    ],
)
async def test_every_fixture_is_accepted(
    client: Client, redis: Redis, url: str, source: str, name: str, count: int
) -> None:
    response = await client.post(url, json=payload(source, name))
    assert (response.status, await response.json()) == (202, {"accepted": count})
    alerts = await on_stream(redis)
    assert [a.source for a in alerts] == [source] * count


async def test_received_at_is_the_clocks_time(
    client: Client, redis: Redis, clock: ManualClock
) -> None:
    await client.post(GENERIC_URL, json=payload("generic", "single"))
    (alert,) = await on_stream(redis)
    assert alert.received_at == clock.now


async def test_an_empty_list_accepts_nothing(client: Client, redis: Redis) -> None:
    response = await client.post(GENERIC_URL, json=[])
    assert (response.status, await response.json()) == (202, {"accepted": 0})
    assert await on_stream(redis) == []


@pytest.mark.parametrize(
    "url",
    [
        "/v1/webhooks/generic/wrong-token",
        "/v1/webhooks/alertmanager/gen-s3cret",  # a real token, on another source's URL
        "/v1/webhooks/nagios/gen-s3cret",
        "/v1/webhooks/generic/gen-s3cre",
        "/v1/webhooks/generic/gen-s3cret-and-more",
        "/v1/webhooks/generic/%C3%A9",
        "/v1/webhooks/generic/%ED%A0%80",  # UTF-8 bytes of a surrogate
        "/v1/webhooks/generic/",
        "/v1/webhooks/generic/gen-s3cret/extra",
    ],
)
async def test_unknown_webhooks_all_get_the_same_answer(
    client: Client, redis: Redis, registry: CollectorRegistry, url: str
) -> None:
    response = await client.post(url, json=payload("generic", "single"))
    assert (response.status, await response.json()) == (404, UNKNOWN)
    assert await on_stream(redis) == []
    assert rejected(registry, "unknown_webhook") == 1


async def test_other_methods_get_the_same_answer(client: Client) -> None:
    response = await client.get(GENERIC_URL)
    assert (response.status, await response.json()) == (404, UNKNOWN)


@pytest.mark.parametrize(
    ("body", "error", "position"),
    [
        (
            b'{\n  "summary": "Disk full",\n  "severity": \n}',
            "malformed JSON at line 4, column 1: Expecting value",
            {"line": 4, "column": 1},
        ),
        (
            b'{"summary": "Disk full" "severity": "warning"}',
            "malformed JSON at line 1, column 25: Expecting ',' delimiter",
            {"line": 1, "column": 25},
        ),
        (b"", "malformed JSON: the body is empty", {}),
        (b" \r\n", "malformed JSON: the body is empty", {}),
        (b'{"summary": "\xff"}', "malformed JSON: not UTF-8 (invalid start byte at byte 13)", {}),
        (b'{"summary": NaN}', "malformed JSON: NaN is not a JSON value", {}),
        (b"[" * 100_000, "malformed JSON: nested too deeply", {}),
    ],
)
async def test_malformed_json_is_refused_saying_where(
    client: Client,
    redis: Redis,
    registry: CollectorRegistry,
    body: bytes,
    error: str,
    position: dict[str, int],
) -> None:
    response = await client.post(GENERIC_URL, data=body)
    assert (response.status, await response.json()) == (400, {"error": error, **position})
    assert await on_stream(redis) == []
    assert rejected(registry, "malformed_json") == 1


async def test_a_byte_order_mark_is_tolerated(client: Client) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(payload("generic", "single")).encode()
    response = await client.post(GENERIC_URL, data=body)
    assert response.status == 202


async def test_wrong_types_are_refused_naming_each_field(
    client: Client, redis: Redis, registry: CollectorRegistry
) -> None:
    body = payload("alertmanager", "grouped_firing")
    body["alerts"][0]["status"] = "pending"
    body["alerts"][1]["labels"]["canary"] = True
    body["alerts"][2]["startsAt"] = "soon"
    del body["version"]
    response = await client.post(AM_URL, json=body)
    assert response.status == 422
    answer = await response.json()
    assert answer["error"] == "invalid payload"
    assert {(e["field"], e["message"]) for e in answer["errors"]} == {
        ("version", "Field required"),
        ("alerts[0].status", "Input should be 'firing' or 'resolved'"),
        ("alerts[1].labels.canary", "Input should be a valid string"),
        (
            "alerts[2].startsAt",
            "Input should be a valid datetime or date, input is too short",
        ),
    }
    assert await on_stream(redis) == []
    assert rejected(registry, "invalid_payload") == 1


@pytest.mark.parametrize(
    ("url", "body", "field", "message"),
    [
        (
            AM_URL,
            b'{"version": "4", "alerts": [{"status": "firing", "labels": {},'
            b' "startsAt": "9999-12-31T23:59:59-05:00"}]}',
            "alerts[0].startsAt",
            "Value error, must be a time between the years 1 and 9999 in UTC",
        ),
        (
            GENERIC_URL,
            b'{"summary": "Disk full", "severity": "warning", "labels": {"free": 1e400}}',
            "labels.free",
            "Value error, must be text, or a number within the range of a 64-bit float",
        ),
    ],
)
async def test_what_the_router_could_not_handle_is_refused_naming_the_field(
    client: Client,
    redis: Redis,
    registry: CollectorRegistry,
    url: str,
    body: bytes,
    field: str,
    message: str,
) -> None:
    response = await client.post(url, data=body)
    assert (response.status, await response.json()) == (
        422,
        {"error": "invalid payload", "errors": [{"field": field, "message": message}]},
    )
    assert await on_stream(redis) == []
    assert rejected(registry, "invalid_payload") == 1


async def test_a_flood_of_errors_is_cut_short(client: Client) -> None:
    response = await client.post(GENERIC_URL, json=[{}] * 150)
    answer = await response.json()
    assert response.status == 422
    assert len(answer["errors"]) == MAX_REPORTED_ERRORS
    assert answer["errors"][:2] == [
        {"field": "[0].summary", "message": "Field required"},
        {"field": "[0].severity", "message": "Field required"},
    ]
    assert answer["errors_not_shown"] == 300 - MAX_REPORTED_ERRORS


async def test_a_body_over_the_limit_is_refused_naming_the_limit(
    client: Client, redis: Redis, registry: CollectorRegistry
) -> None:
    response = await client.post(GENERIC_URL, data=io.BytesIO(b" " * (MAX_BODY_BYTES + 1)))
    assert (response.status, await response.json()) == (
        413,
        {"error": "the body exceeds the limit of 1048576 bytes", "limit_bytes": 1048576},
    )
    assert await on_stream(redis) == []
    assert rejected(registry, "body_too_large") == 1


async def test_a_chunked_body_is_cut_off_at_the_limit(client: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * (MAX_BODY_BYTES // 2)

    response = await client.post(GENERIC_URL, data=chunks())
    assert response.status == 413
    assert (await response.json())["limit_bytes"] == MAX_BODY_BYTES


async def test_a_body_at_the_limit_is_read(
    redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> None:
    body = json.dumps(payload("generic", "single")).encode()
    webhooks = Webhooks(
        integrations=[GENERIC],
        stream=alert_stream(redis),
        registry=registry,
        clock=clock,
        max_body_bytes=len(body),
    )
    async with serve(webhooks) as client:
        assert (await client.post(GENERIC_URL, data=body)).status == 202
        assert (await client.post(GENERIC_URL, data=body + b" ")).status == 413


async def test_nothing_accepted_is_lost_and_nothing_refused_is_kept(
    client: Client, redis: Redis, registry: CollectorRegistry
) -> None:
    firing, grouped = payload("alertmanager", "firing"), payload("alertmanager", "grouped_firing")
    invalid = payload("alertmanager", "resolved")
    invalid["alerts"][0]["status"] = "ok"
    requests: list[tuple[str, dict[str, Any]]] = [
        (AM_URL, {"json": firing}),
        (GENERIC_URL, {"data": b'{"summary": "half a'}),
        (AM_URL, {"json": grouped}),
        (AM_URL, {"json": invalid}),
        ("/v1/webhooks/generic/guess", {"json": payload("generic", "single")}),
        (GENERIC_URL, {"data": io.BytesIO(b"[" + b" " * MAX_BODY_BYTES + b"]")}),
        (GENERIC_URL, {"json": payload("generic", "list")}),
        (GENERIC_URL, {"json": {"summary": "no severity"}}),
    ]
    statuses = [(await client.post(url, **kwargs)).status for url, kwargs in requests]

    assert statuses == [202, 400, 202, 422, 404, 413, 202, 422]
    alerts = await on_stream(redis)
    assert [a.summary for a in alerts] == [
        "checkout-api error rate above 5%",
        *["Pod is crash looping."] * 3,
        "Certificate for shop.example.com expires in 6 days",
        "Certificate for api.example.com expires in 2 days",
    ]
    assert (received(registry, ALERTMANAGER), received(registry, GENERIC)) == (4, 2)
    assert [rejected(registry, r) for r in ("malformed_json", "invalid_payload")] == [1, 2]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_redis_outage_accepts_nothing_and_asks_for_a_retry(
    registry: CollectorRegistry, clock: ManualClock
) -> None:
    unreachable = Redis(host="127.0.0.1", port=closed_port())
    webhooks = Webhooks(
        integrations=[ALERTMANAGER],
        stream=alert_stream(unreachable),
        registry=registry,
        clock=clock,
    )
    try:
        async with serve(webhooks) as client:
            response = await client.post(AM_URL, json=payload("alertmanager", "firing"))
            assert response.status == 503
            assert response.headers["Retry-After"] == "5"
            assert "retry later" in (await response.json())["error"]
    finally:
        await unreachable.aclose()
    assert rejected(registry, "stream_unavailable") == 1
    assert received(registry, ALERTMANAGER) == 0


class BrokenStream(TypedStream[Alert]):
    async def append(self, items: Sequence[Alert]) -> list[str]:
        raise RuntimeError("a bug")


async def test_a_bug_is_answered_in_json_without_details(
    redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> None:
    webhooks = Webhooks(
        integrations=[GENERIC],
        stream=BrokenStream(redis, "unused", Alert),
        registry=registry,
        clock=clock,
    )
    async with serve(webhooks) as client:
        response = await client.post(GENERIC_URL, json=payload("generic", "single"))
        assert response.status == 500
        assert "a bug" not in (await response.text())
        assert "retry later" in (await response.json())["error"]
    assert rejected(registry, "internal_error") == 1


def test_metrics_start_at_zero(client: Client, registry: CollectorRegistry) -> None:
    assert (received(registry, ALERTMANAGER), received(registry, GENERIC)) == (0, 0)
    assert rejected(registry, "stream_unavailable") == 0


@pytest.mark.parametrize(
    ("integrations", "message"),
    [
        (
            [GENERIC, GENERIC.model_copy(update={"type": "alertmanager"})],
            "integrations[1].name: the same name as integrations[0]; "
            "integrations[1].token: the same token as integrations[0]",
        ),
        (
            [ALERTMANAGER, GENERIC, GENERIC.model_copy(update={"name": "cron-2"})],
            "integrations[2].token: the same token as integrations[1]",
        ),
    ],
)
def test_integrations_must_not_share_a_name_or_token(
    redis: Redis, registry: CollectorRegistry, integrations: list[Integration], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Webhooks(
            integrations=integrations,
            stream=alert_stream(redis),
            registry=registry,
            clock=ManualClock(),
        )
    assert GENERIC.token not in message


def test_every_integration_type_but_heartbeats_has_a_source() -> None:
    types = set(get_args(Integration.model_fields["type"].annotation))
    assert types == {*SOURCES, HEARTBEAT}
