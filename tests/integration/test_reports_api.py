"""Reports and postmortems on the web role's app, against the real Valkey: incidents made
through the real webhook and router, acknowledged over the API, then reported on."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from router.consumer import Router
from tests.conftest import ManualClock
from tests.integration.test_api import (
    SUMMARY,
    Client,
    client,
    get_json,
    loaded,
    router,
    runtime,
    serve,
    three_incidents,
)
from tocsin.runtime import Runtime
from tocsin.tokens import Scope, TokenStore

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def acknowledged_after(client: Client, clock: ManualClock, delay: timedelta) -> str:
    """Acknowledge the newest incident ``delay`` after now; its id."""
    newest = (await get_json(client, "/api/v1/incidents?limit=1"))["incidents"][0]
    clock.advance(delay)
    response = await client.post(f"/api/v1/incidents/{newest['id']}/acknowledge")
    assert response.status == 200, await response.text()
    return str(newest["id"])


async def test_a_report_of_the_last_week(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)
    await acknowledged_after(client, clock, timedelta(minutes=3))

    body = await get_json(client, "/api/v1/reports")

    assert (body["start"], body["end"]) == ("2026-02-23T12:13:00Z", "2026-03-02T12:13:00Z")
    assert (body["incidents"], body["open"], body["acknowledged"]) == (3, 3, 1)
    assert body["mtta_seconds"] == 180
    assert body["mttr_seconds"] is None
    assert sum(body["by_severity"].values()) == 3
    assert body["noisiest_alerts"] == [{"name": SUMMARY, "incidents": 3, "alerts": 3}]
    assert body["truncated"] is False
    assert len(body["per_day"]) == 8


async def test_a_range_that_holds_none_of_them(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)
    body = await get_json(client, "/api/v1/reports?from=2026-03-01T00:00Z&to=2026-03-02T12:00Z")
    assert body["incidents"] == 0
    body = await get_json(client, "/api/v1/reports?from=2026-03-02T12:00Z&to=2026-03-02T12:06Z")
    assert body["incidents"] == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=last-week", "from: invalid time 'last-week'"),
        ("to=2026-03-02T25:00Z", "to: invalid time"),
        ("from=2026-03-02T00:00Z&to=2026-03-01T00:00Z", "from must be before to"),
        ("from=2020-01-01T00:00Z", "longer than 366 days"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/reports/incidents.svg"])
async def test_a_range_asked_wrong_is_a_400_naming_it(
    client: Client, path: str, query: str, message: str
) -> None:
    body = await get_json(client, f"{path}?{query}", status=400)
    assert message in body["error"]


async def test_the_chart_of_incidents_per_day(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)

    response = await client.get("/api/v1/reports/incidents.svg?from=2026-03-01&to=2026-03-03")

    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    root = ET.fromstring(await response.text())
    bars = [
        (r.get("data-day"), int(r.get("data-count", "0")))
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.get("class") == "bar"
    ]
    assert sum(count for day, count in bars if day == "2026-03-02") == 3
    assert {day for day, _ in bars} == {"2026-03-02"}


async def test_the_postmortem_of_an_incident(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)
    incident_id = await acknowledged_after(client, clock, timedelta(minutes=3))

    response = await client.get(f"/api/v1/incidents/{incident_id}/postmortem.md")

    assert response.status == 200
    assert response.content_type == "text/markdown"
    text = await response.text()
    assert text.startswith(f"# Postmortem: incident #{incident_id}: {SUMMARY}\n")
    assert "- Detected by: integration prod-am (alertmanager)" in text
    assert "- Time to acknowledge: 3m (at 2026-03-02 12:13:00 UTC)" in text
    assert "| 2026-03-02 12:13:00 UTC | acknowledged | token:tests |  |" in text


async def test_no_postmortem_of_an_incident_that_is_not_there(client: Client) -> None:
    body = await get_json(client, "/api/v1/incidents/999/postmortem.md", status=404)
    assert body == {"error": "no such incident"}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/reports", "/api/v1/reports/incidents.svg", "/api/v1/incidents/1/postmortem.md"],
)
async def test_a_read_token_is_enough_and_a_wrong_one_is_not(
    runtime: Runtime, redis: Redis, clock: ManualClock, path: str
) -> None:
    token, _ = await TokenStore(redis).create("dash", Scope.READ, clock())
    async with serve(runtime, token) as reader:
        assert (await reader.get(path)).status in (200, 404)
        refused = await reader.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert refused.status == 401
