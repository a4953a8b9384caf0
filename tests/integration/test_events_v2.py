"""PagerDuty's Events API v2 endpoints over real HTTP against the real Valkey: PagerDuty's
answers, events on the alert stream, follow-ups with their trigger's labels, change events
in the change log and ``/api/v1/changes``."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.changes import MAX_CHANGES, ChangeLog
from ingest.config import Integration
from ingest.events_v2 import EventsV2, add_routes
from ingest.models import AlertStatus
from ingest.stream import alert_stream
from ingest.triggers import Triggers
from ingest.web import Webhooks
from ingest.web import add_routes as add_webhook_routes
from tests.conftest import ManualClock
from tests.integration.test_webhooks import on_stream, rejected
from tocsin.changes_api import ChangesApi
from tocsin.changes_api import add_routes as add_changes_routes
from tocsin.store import connect

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads" / "pagerduty"
KEY = "e93facc04764012d7bfb002500d5d1a6"
PD = Integration(name="pd-prod", type="pagerduty", token=KEY)
OTHER_PD = Integration(name="pd-staging", type="pagerduty", token="f" * 32)
GENERIC = Integration(name="cron", type="generic", token="gen-s3cret")
INVALID = {"status": "invalid event", "message": "Event object is invalid"}

Client = TestClient[web.Request, web.Application]


def event(name: str, **fields: object) -> Any:
    return {**json.loads((PAYLOADS / f"{name}.json").read_text()), **fields}


@pytest.fixture
async def client(
    redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> AsyncIterator[Client]:
    integrations = [PD, OTHER_PD, GENERIC]
    webhooks = Webhooks(
        integrations=integrations, stream=alert_stream(redis), registry=registry, clock=clock
    )
    changes = ChangeLog(redis)
    app = web.Application()
    add_routes(app, EventsV2(webhooks, Triggers(redis), changes))
    add_webhook_routes(app, webhooks)
    add_changes_routes(app, ChangesApi(changes, integrations))
    async with TestClient(TestServer(app)) as client:
        yield client


async def post(client: Client, body: object, path: str = "/v2/enqueue") -> tuple[int, Any]:
    response = await client.post(path, json=body)
    return response.status, await response.json()


async def test_a_trigger_is_answered_as_pagerduty_does_and_is_on_the_stream(
    client: Client, redis: Redis
) -> None:
    assert await post(client, event("trigger_full")) == (
        202,
        {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"},
    )
    (alert,) = await on_stream(redis)
    assert (alert.dedup_key, alert.integration, alert.labels["component"]) == (
        "srv01/mysql",
        "pd-prod",
        "mysql",
    )


async def test_a_trigger_without_a_key_gets_one_and_is_told_it(
    client: Client, redis: Redis
) -> None:
    status, answer = await post(client, event("trigger_minimal"))
    assert status == 202
    assert len(answer["dedup_key"]) == 32
    (alert,) = await on_stream(redis)
    assert alert.dedup_key == answer["dedup_key"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
async def test_a_follow_up_carries_its_triggers_labels_and_summary(
    client: Client, redis: Redis, action: str
) -> None:
    await post(client, event("trigger_full"))
    assert await post(client, event(action)) == (
        202,
        {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"},
    )
    trigger, follow_up = await on_stream(redis)
    assert follow_up.status is {"acknowledge": AlertStatus.ACKNOWLEDGED}.get(
        action, AlertStatus.RESOLVED
    )
    assert (follow_up.labels, follow_up.summary) == (trigger.labels, trigger.summary)


async def test_a_follow_up_of_another_routing_key_does_not_borrow_its_labels(
    client: Client, redis: Redis
) -> None:
    await post(client, event("trigger_full"))
    await post(client, event("resolve", routing_key=OTHER_PD.token))
    _, resolve = await on_stream(redis)
    assert (resolve.integration, resolve.labels, resolve.summary) == ("pd-staging", {}, "resolved")


async def test_an_acknowledge_of_an_unknown_key_is_accepted(client: Client, redis: Redis) -> None:
    status, answer = await post(client, event("acknowledge", dedup_key="never-triggered"))
    assert (status, answer["dedup_key"]) == (202, "never-triggered")
    assert [alert.labels for alert in await on_stream(redis)] == [{}]


@pytest.mark.parametrize(
    "body",
    [
        event("trigger_full", routing_key="0" * 32),
        event("trigger_full", routing_key=GENERIC.token),  # a real token, of another type
        event("trigger_full", routing_key=12345),
        {key: value for key, value in event("trigger_full").items() if key != "routing_key"},
        ["routing_key", KEY],
    ],
    ids=["unknown", "generic integration's", "a number", "missing", "not an object"],
)
async def test_every_unknown_routing_key_gets_one_answer(
    client: Client, redis: Redis, registry: CollectorRegistry, body: object
) -> None:
    assert await post(client, body) == (400, {**INVALID, "errors": ["Invalid routing key"]})
    assert await on_stream(redis) == []
    assert rejected(registry, "unknown_webhook") == 1


async def test_pagerduty_events_have_no_webhook_url_of_their_own(
    client: Client, redis: Redis
) -> None:
    # Only /v2/enqueue gives a follow-up its trigger's labels: one way in, not two.
    response = await client.post(f"/v1/webhooks/pagerduty/{KEY}", json=event("trigger_full"))
    assert (response.status, await response.json()) == (404, {"error": "unknown webhook"})
    assert await on_stream(redis) == []


async def test_an_invalid_event_names_each_field(
    client: Client, redis: Redis, registry: CollectorRegistry
) -> None:
    body = event("trigger_full")
    body["payload"] = {**body["payload"], "severity": "fatal", "timestamp": "soon"}
    status, answer = await post(client, body)
    assert (status, answer) == (
        400,
        {
            **INVALID,
            "errors": [
                "payload.severity: Input should be 'critical', 'error', 'warning' or 'info'",
                "payload.timestamp: Input should be a valid datetime or date, input is too short",
            ],
        },
    )
    assert await on_stream(redis) == []
    assert rejected(registry, "invalid_payload") == 1


async def test_malformed_json_is_an_invalid_event(
    client: Client, registry: CollectorRegistry
) -> None:
    response = await client.post("/v2/enqueue", data=b'{"routing_key": ')
    assert response.status == 400
    answer = await response.json()
    assert {k: v for k, v in answer.items() if k != "errors"} == INVALID
    assert answer["errors"][0].startswith("malformed JSON at line 1")
    assert rejected(registry, "malformed_json") == 1


async def test_change_events_are_listed_newest_first(client: Client, clock: ManualClock) -> None:
    assert await post(client, event("change"), "/v2/change/enqueue") == (
        202,
        {"status": "success", "message": "Change event processed"},
    )
    clock.advance(timedelta(minutes=1))
    second = event("change", routing_key=OTHER_PD.token)
    second["payload"] = {"summary": "Feature flag checkout-v2 on"}
    await post(client, second, "/v2/change/enqueue")
    response = await client.get("/api/v1/changes")
    changes = (await response.json())["changes"]
    assert [(c["integration"], c["summary"]) for c in changes] == [
        ("pd-staging", "Feature flag checkout-v2 on"),
        ("pd-prod", "Build Success: Increase snapshot create timeout to 30 seconds"),
    ]
    assert changes[1]["custom_details"]["build_state"] == "passed"
    assert changes[1]["links"] == [
        {"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}
    ]
    response = await client.get("/api/v1/changes?integration=pd-prod&limit=5")
    assert [c["integration"] for c in (await response.json())["changes"]] == ["pd-prod"]


async def test_the_change_log_keeps_the_latest_of_each_integration(
    client: Client, redis: Redis
) -> None:
    changes = ChangeLog(redis)
    change = event("change")
    for n in range(MAX_CHANGES + 5):
        change["payload"] = {"summary": f"deploy {n}"}
        await post(client, change, "/v2/change/enqueue")
    kept = await changes.latest(["pd-prod"], MAX_CHANGES + 5)
    assert len(kept) == MAX_CHANGES
    assert kept[0].summary == f"deploy {MAX_CHANGES + 4}"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", f"limit must be a whole number from 1 to {MAX_CHANGES}"),
        ("limit=-1", f"limit must be a whole number from 1 to {MAX_CHANGES}"),
        ("integration=cron", "no pagerduty integration 'cron' (known: pd-prod, pd-staging)"),
    ],
)
async def test_a_bad_changes_query_says_what_is_wrong(
    client: Client, query: str, message: str
) -> None:
    response = await client.get(f"/api/v1/changes?{query}")
    assert (response.status, await response.json()) == (400, {"error": message})


async def test_an_invalid_change_event_names_its_fields(client: Client) -> None:
    status, answer = await post(client, {"routing_key": KEY, "payload": {}}, "/v2/change/enqueue")
    assert (status, answer) == (400, {**INVALID, "errors": ["payload.summary: Field required"]})


async def test_a_store_that_is_away_is_a_retry_later(
    redis: Redis, registry: CollectorRegistry, clock: ManualClock
) -> None:
    # A store nobody listens on: every event is refused with 503, nothing pretends to be in.
    away = connect("redis://127.0.0.1:1/0")
    webhooks = Webhooks(
        integrations=[PD], stream=alert_stream(away), registry=registry, clock=clock
    )
    app = web.Application()
    add_routes(app, EventsV2(webhooks, Triggers(away), ChangeLog(away)))
    async with TestClient(TestServer(app)) as client:
        for path, body in [
            ("/v2/enqueue", event("trigger_full")),
            ("/v2/change/enqueue", event("change")),
        ]:
            response = await client.post(path, json=body)
            assert (response.status, response.headers["Retry-After"]) == (503, "5")
    await away.aclose()
    assert rejected(registry, "stream_unavailable") == 2
