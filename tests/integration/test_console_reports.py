"""The console's reports page, its chart and an incident's postmortem, as ``tocsin web``
serves them against the real Valkey: incidents made by the real webhook and router on the
test's clock, acknowledged and resolved in the console, then reported on. That these routes
want a session is in ``test_console``'s list of pages."""

import xml.etree.ElementTree as ET
from datetime import timedelta

from redis.asyncio import Redis

from router.consumer import Router
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload
from tests.integration.test_api import WEBHOOK, three_incidents
from tests.integration.test_console import (
    HOSTILE,
    Client,
    client,
    loaded,
    page,
    post_form,
    router,
    sign_in,
)
from tocsin.postmortem import postmortem

__all__ = ["client", "loaded", "router"]  # the console tests' fixtures


async def act(client: Client, incident_id: str, action: str) -> None:
    path = f"/incidents/{incident_id}"
    response = await post_form(client, f"{path}/act", {"action": action}, path)
    assert response.status == 303, await response.text()


async def test_the_numbers_of_a_scripted_week(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)  # #1 at 12:00, #2 at 12:05, #3 at 12:10
    await sign_in(client)
    clock.advance(timedelta(minutes=3))
    await act(client, "3", "acknowledge")  # 3 minutes after it opened
    clock.advance(timedelta(minutes=40))
    await act(client, "3", "resolve")  # 43 minutes after

    html = await page(client, "/reports")

    numbers = html.split('<dl class="numbers">', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Incidents</dt><dd>3</dd>" in numbers
    assert "<dt>Open</dt><dd>2</dd>" in numbers
    assert "<dt>Resolved</dt><dd>1</dd>" in numbers
    assert "<dt>MTTA</dt><dd>3m</dd>" in numbers
    assert "<dt>MTTR</dt><dd>43m</dd>" in numbers
    assert "<dt>Escalated</dt><dd>0%</dd>" in numbers
    assert "<td>route-1</td><td>3</td>" in html
    assert "p99 latency above 2s on payments <span" in html  # the noisiest alert
    assert '<a href="/reports">Reports</a>' in html


async def test_the_chart_is_an_image_from_the_console(
    client: Client, router: Router, clock: ManualClock
) -> None:
    """The CSP lets images come from the console alone, so the chart is an ``<img>`` of a
    console route, answered to the same session, for the range the page shows."""
    await three_incidents(client, router, clock)
    await sign_in(client)
    response = await client.get("/reports?from=2026-03-01&to=2026-03-03")
    assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    html = await response.text()
    src = html.split('<img class="chart" src="', 1)[1].split('"', 1)[0]
    at = "T00%3A00%3A00Z"
    assert src == f"/reports/incidents.svg?from=2026-03-01{at}&amp;to=2026-03-03{at}"

    chart = await client.get(src.replace("&amp;", "&"))

    assert chart.status == 200
    assert chart.content_type == "image/svg+xml"
    bars = ET.fromstring(await chart.text()).iter("{http://www.w3.org/2000/svg}rect")
    counted = {b.get("data-day"): b.get("data-count") for b in bars if b.get("class") == "bar"}
    assert counted == {"2026-03-02": "3"}


async def test_a_range_written_wrong_says_which_part(client: Client) -> None:
    await sign_in(client)
    for query, problem in [
        ("?from=yesterday", "from: "),
        ("?from=2026-03-02&to=2026-03-01", "from must be before to"),
        ("?from=2020-01-01&to=2026-01-01", "the range is longer than 366 days"),
    ]:
        response = await client.get("/reports" + query)
        assert response.status == 400
        html = await response.text()
        assert '<p class="notice bad" role="status">' + problem in html
        assert "Traceback" not in html
        chart = await client.get("/reports/incidents.svg" + query)
        assert chart.status == 400
        assert problem in await chart.text()


async def test_titles_and_names_are_escaped(
    client: Client, router: Router, clock: ManualClock
) -> None:
    payload = alertmanager_payload("firing")
    payload["alerts"][0]["annotations"]["summary"] = "<script>alert(1)</script>" + HOSTILE
    payload["alerts"][0]["labels"]["service"] = HOSTILE
    response = await client.post(WEBHOOK, json=payload)
    assert response.status == 202
    assert await router.step() == 1
    clock.advance(timedelta(minutes=1))  # the range ends now, and leaves now out
    await sign_in(client)

    refused = await client.get("/reports", params={"from": HOSTILE})  # repeated in its form
    assert refused.status == 400
    html = await refused.text() + await page(client, "/reports")

    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x" in html


async def test_the_postmortem_of_an_incident_behind_the_session(
    client: Client, router: Router, clock: ManualClock, redis: Redis
) -> None:
    await three_incidents(client, router, clock)
    await sign_in(client)
    assert 'href="/incidents/2/postmortem.md">Postmortem (Markdown)</a>' in await page(
        client, "/incidents/2"
    )

    response = await client.get("/incidents/2/postmortem.md")

    assert response.status == 200
    assert response.content_type == "text/markdown"
    store = IncidentStore(redis)
    incident = await store.get("2")
    assert incident is not None
    alerts, _ = await store.alerts("2")
    assert await response.text() == postmortem(incident, await store.timeline("2"), alerts)
    missing = await client.get("/incidents/99/postmortem.md")
    assert missing.status == 404
    assert await missing.text() == "no such incident"
