"""Acting on an incident over the API (``POST /api/v1/incidents/{id}/acknowledge`` and
``/resolve``), through the real webhook, router and store: what each answers, who is
recorded, the event that tells the notifier, and what firing alerts do after a resolve."""

from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from router import keys
from router.consumer import Router
from router.models import IncidentEvent, IncidentEventKind
from tests.conftest import ManualClock
from tests.integration.test_api import Client, client, get_json, loaded, router, runtime, send
from tocsin.config import LoadedConfig

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def act(
    client: Client, incident_id: str, action: str, status: int = 200, **request: Any
) -> Any:
    response = await client.post(f"/api/v1/incidents/{incident_id}/{action}", **request)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def announced(redis: Redis) -> list[tuple[str, IncidentEventKind]]:
    entries = await redis.xrange(keys.EVENT_STREAM)
    events = [IncidentEvent.model_validate_json(fields[b"m"]) for _, fields in entries]
    return [(event.incident_id, event.kind) for event in events]


async def test_acknowledge_records_the_token_and_tells_the_notifier(
    client: Client, router: Router, redis: Redis, clock: ManualClock
) -> None:
    await send(client, router)
    clock.advance(timedelta(minutes=2))

    body = await act(client, "1", "acknowledge")

    assert body["result"] == "acknowledged"
    incident = body["incident"]
    assert (incident["id"], incident["status"]) == ("1", "acknowledged")
    assert (incident["acknowledged_by"], incident["acknowledged_at"]) == (
        "token:tests",
        "2026-03-02T12:02:00Z",
    )
    assert await announced(redis) == [("1", IncidentEventKind.OPENED), ("1", "acknowledged")]

    # Again: the first who and when stay, and nothing more is announced.
    clock.advance(timedelta(minutes=1))
    again = await act(client, "1", "acknowledge", json={"by": "bob"})
    assert again["result"] == "already acknowledged"
    assert again["incident"]["acknowledged_by"] == "token:tests"
    assert len(await announced(redis)) == 2


async def test_acting_for_a_configured_person(client: Client, router: Router) -> None:
    await send(client, router)

    body = await act(client, "1", "acknowledge", json={"by": "alice"})

    assert body["incident"]["acknowledged_by"] == "alice"
    timeline = (await get_json(client, "/api/v1/incidents/1"))["timeline"]
    assert (timeline[-1]["kind"], timeline[-1]["person"]) == ("acknowledged", "alice")


async def test_resolve_records_who_and_tells_the_notifier(
    client: Client, router: Router, redis: Redis, clock: ManualClock, loaded: LoadedConfig
) -> None:
    await send(client, router)
    clock.advance(timedelta(minutes=3))

    body = await act(client, "1", "resolve", json={"by": "bob"})

    assert body["result"] == "resolved"
    incident = body["incident"]
    assert (incident["status"], incident["resolved_by"]) == ("resolved", "bob")
    assert incident["resolved_at"] == "2026-03-02T12:03:00Z"
    assert (await announced(redis))[-1] == ("1", IncidentEventKind.RESOLVED)
    # Kept as long as the configuration says, as `tocsin incident resolve` keeps it.
    kept = await redis.ttl(keys.incident("1"))
    retention = loaded.routing.retention.total_seconds()
    assert retention - 5 <= kept <= retention

    again = await act(client, "1", "resolve")
    assert again["result"] == "already resolved"
    assert again["incident"]["resolved_by"] == "bob"
    assert len(await announced(redis)) == 2


async def test_a_resolved_incident_cannot_be_acknowledged(client: Client, router: Router) -> None:
    await send(client, router)
    await act(client, "1", "resolve")

    body = await act(client, "1", "acknowledge", status=409)

    assert "resolved" in body["error"]
    incident = await get_json(client, "/api/v1/incidents/1")
    assert (incident["status"], incident["resolved_by"]) == ("resolved", "token:tests")


async def test_alerts_still_firing_after_a_resolve_open_a_new_incident(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await send(client, router)
    await act(client, "1", "resolve")

    # Well within the reopen window: whoever resolved it said it is over.
    clock.advance(timedelta(seconds=30))
    await send(client, router)

    listed = (await get_json(client, "/api/v1/incidents"))["incidents"]
    assert [(i["id"], i["status"]) for i in listed] == [("2", "triggered"), ("1", "resolved")]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
async def test_an_unknown_incident_is_404(client: Client, action: str) -> None:
    assert await act(client, "404", action, status=404) == {"error": "no such incident"}


BAD_BODIES = {
    "not a person": ({"json": {"by": "mallory"}}, 400, "by: 'mallory' is not a person"),
    "not a name": ({"json": {"by": 7}}, 400, "by: Input should be a valid string"),
    "another field": ({"json": {"who": "alice"}}, 400, "who: Extra inputs are not permitted"),
    "not an object": ({"json": ["alice"]}, 400, "the body: Input should be"),
    "not JSON": ({"data": b"{by: alice"}, 400, "malformed JSON"),
    "too large": ({"data": b" " * 5000}, 413, "exceeds the limit of 4096 bytes"),
}


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize(("request_", "status", "message"), BAD_BODIES.values(), ids=BAD_BODIES)
async def test_a_bad_body_is_refused_saying_why_and_changes_nothing(
    client: Client,
    router: Router,
    action: str,
    request_: dict[str, Any],
    status: int,
    message: str,
) -> None:
    await send(client, router)

    body = await act(client, "1", action, status=status, **request_)

    assert message in body["error"]
    assert (await get_json(client, "/api/v1/incidents/1"))["status"] == "triggered"
