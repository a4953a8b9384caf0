"""``POST /api/v1/explain`` on the web role's app, against the real Valkey: the explanation as
JSON with the store's silences, payload errors exactly as the webhook reports them, and a
400 naming the problem for a body that is not a question."""

import io
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from router.consumer import Router
from router.silence_store import SilenceStore
from router.silences import Silence, SilenceMatcher
from schedules.override_store import OverrideStore
from schedules.stored import StoredOverride
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload
from tests.integration.test_api import Client, client, loaded, router, runtime, send, serve
from tocsin.config import LoadedConfig
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.store import connect
from tocsin.tokens import new_token

EXPLAIN = "/api/v1/explain"

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def explained(client: Client, body: object) -> Any:
    response = await client.post(EXPLAIN, json=body)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def test_an_alert_explained_with_the_stores_silences(
    client: Client, redis: Redis, clock: ManualClock
) -> None:
    payload = alertmanager_payload("firing")
    told = await explained(client, {"integration": "prod-am", "payload": payload})

    assert told["at"] == "2026-03-02T12:00:00Z"  # the app's clock
    assert told["notes"] == []
    (alert,) = told["alerts"]
    assert alert["routing"]["severity"] == "SEV1"
    assert alert["routing"]["checks"] == [
        {"route": "route-1", "depth": 0, "matched": True, "why_not": None, "continues": False}
    ]
    (page,) = alert["pages"]
    assert (page["route"], page["now"]) == ("route-1", True)
    assert page["people"] == [
        {
            "id": "alice",
            "name": "Alice",
            "by_rules": False,
            "notify": [{"after_seconds": 0, "channels": ["console"]}],
        }
    ]

    silence = await SilenceStore(redis).save(
        Silence(
            matchers=[SilenceMatcher(name="cluster", value="eu1", is_regex=False)],
            starts_at=clock(),
            ends_at=clock() + timedelta(hours=2),
            created_by="carol",
            comment="failover drill",
        ),
        clock(),
    )
    at = "2026-03-02T13:00:00"
    told = await explained(client, {"integration": "alertmanager", "payload": payload, "at": at})

    assert told["notes"] == ["the time has no UTC offset: read as UTC"]
    (alert,) = told["alerts"]
    assert alert["routing"]["holds"] == [
        {
            "kind": "silence",
            "name": silence.id,
            "detail": "carol: failover drill",
            "until": "2026-03-02T14:00:00Z",
        }
    ]
    assert alert["pages"][0]["now"] is False
    # An hour after the silence ends, it holds nothing.
    later = {"integration": "prod-am", "payload": payload, "at": "2026-03-02T15:00:00+01:00"}
    assert (await explained(client, later))["alerts"][0]["routing"]["holds"] == []


async def test_an_alert_of_an_open_incident_joins_it(client: Client, router: Router) -> None:
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    body = {"integration": "prod-am", "payload": alertmanager_payload("firing", fingerprint="f2")}

    (page,) = (await explained(client, body))["alerts"][0]["pages"]

    assert page["now"] is False
    assert page["why_not"] == "joins open incident 1 (triggered), paged when it opened"


async def test_payload_errors_are_the_webhooks_422(client: Client) -> None:
    payload = {"version": "4", "alerts": [{"status": "burning", "labels": {"a": None}}]}
    refused = await client.post("/v1/webhooks/alertmanager/s3cret", json=payload)
    assert refused.status == 422

    told = await explained(client, {"integration": "prod-am", "payload": payload})

    assert told["alerts"] == []
    assert told["errors"] == (await refused.json())["errors"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"payload": ', 400, "malformed JSON at line 1, column 13: Expecting value"),
        (b"[]", 400, "the body: Input should be a valid dictionary or instance of ExplainRequest"),
        (b'{"integration": "prod-am"}', 400, "payload: Field required"),
        (b'{"payload": {}, "token": "x"}', 400, "token: Extra inputs are not permitted"),
        (
            b'{"payload": {}}',
            400,
            "name the integration the payload arrives on (one of: prod-am, custom)",
        ),
        (
            b'{"payload": {}, "integration": "nagios"}',
            400,
            "unknown integration 'nagios' (known: prod-am, custom)",
        ),
        (
            b'{"payload": {}, "integration": "custom", "at": "noon"}',
            400,
            "invalid time 'noon': write ISO 8601, e.g. 2026-03-02T03:00:00Z or "
            "2026-03-02T04:00+01:00",
        ),
        (b" " * (1024 * 1024 + 1), 413, "the body exceeds the limit of 1048576 bytes"),
    ],
)
async def test_a_body_that_is_not_a_question_is_refused_saying_why(
    client: Client, body: bytes, status: int, error: str
) -> None:
    response = await client.post(EXPLAIN, data=io.BytesIO(body))

    assert response.status == status
    assert await response.json() == {"error": error}


async def test_without_the_store_no_token_can_be_checked(
    loaded: LoadedConfig, clock: ManualClock
) -> None:
    # `tocsin explain` explains offline; over HTTP, the token needs the store first.
    away = connect("redis://127.0.0.1:1/0")
    runtime = Runtime(Settings(), loaded, away, b"k" * 32, clock=clock)
    try:
        async with serve(runtime, new_token()) as client:
            body = {"integration": "prod-am", "payload": alertmanager_payload("firing")}
            response = await client.post(EXPLAIN, json=body)
            assert response.status == 503
            assert await response.json() == {"error": "storage unavailable, try again"}
    finally:
        await away.aclose()


async def test_an_explanation_names_a_stored_stand_in(
    client: Client, redis: Redis, clock: ManualClock
) -> None:
    await OverrideStore(redis).add(
        StoredOverride(
            id="",
            schedule="payments-primary",
            person="bob",
            start=clock(),
            end=clock() + timedelta(hours=1),
            created_at=clock(),
        ),
        clock(),
    )
    payload = alertmanager_payload("firing")
    told = await explained(client, {"integration": "prod-am", "payload": payload})

    (page,) = told["alerts"][0]["pages"]
    assert [p["id"] for p in page["people"]] == ["bob"]  # alice's turn
