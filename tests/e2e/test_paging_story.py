"""The paging story as a user lives it, on the real stack in one process: Valkey, the web
server, router and worker, a real SMTP server and a real webhook sink."""

import logging

import aiohttp
import pytest
from arq.jobs import Job, JobStatus
from redis.asyncio import Redis

from notifier import keys as notifier_keys
from notifier.escalation import Step
from router.store import IncidentStore
from tests.e2e.conftest import (
    WEBHOOK,
    Mailbox,
    Sink,
    alertmanager_payload,
    eventually,
    read_token,
)
from tocsin.service import Running


async def post(url: str, body: object) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        await response.read()
        return response


async def escalation_done(redis: Redis, incident_id: str, level: int) -> bool:
    job = Job(notifier_keys.escalate_job_id(incident_id, Step(0, level)), redis)
    return await job.status() is JobStatus.complete


async def test_page_escalate_acknowledge_resolve(
    service: Running, redis: Redis, mailbox: Mailbox, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(service.url + WEBHOOK, alertmanager_payload("firing"))
    assert response.status == 202

    # Level 1: whoever is on call (Alice), by webhook and by email, with a link.
    await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="Alice's page")
    page = sink.at("/alice", "page")[0]
    assert page["level"] == 1
    assert page["severity"] == "SEV1"
    assert page["ack_url"].startswith(service.url + "/ack/")
    await eventually(lambda: len(mailbox.to("alice@example.com")) == 1, what="Alice's mail")
    assert page["ack_url"] in mailbox.to("alice@example.com")[0].as_string()
    incident_id = page["incident_id"]

    # Nobody acknowledges: level 2 (Bob) is paged once the level's timeout runs out.
    await eventually(lambda: len(sink.at("/bob", "page")) == 1, what="escalation to Bob")
    bob_page = sink.at("/bob", "page")[0]
    assert bob_page["level"] == 2

    # Bob acknowledges through the link; a link scanner's GET before that changed nothing.
    async with aiohttp.ClientSession() as http:
        async with http.get(bob_page["ack_url"]) as shown:
            assert shown.status == 200
        store = IncidentStore(redis)
        incident = await store.get(incident_id)
        assert incident is not None
        assert incident.status == "triggered"
        async with http.post(bob_page["ack_url"], headers={"Accept": "text/html"}) as acked:
            assert acked.status == 200
    incident = await store.get(incident_id)
    assert incident is not None
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", "bob")

    # Bob's timer still fires, finds the incident acknowledged and pages nobody.
    await eventually(lambda: escalation_done(redis, incident_id, 1), what="level 2 timer")
    assert len(sink.at("/alice", "page")) == 1
    assert len(sink.at("/bob", "page")) == 1

    # The alert resolves: the incident resolves and everyone paged hears so.
    assert (await post(service.url + WEBHOOK, alertmanager_payload("resolved"))).status == 202
    await eventually(
        lambda: len(sink.at("/alice", "resolved")) == 1 and len(sink.at("/bob", "resolved")) == 1,
        what="resolved notices",
    )
    # Alice, paged first, heard that Bob has it; Bob is not told of his own click.
    await eventually(lambda: len(sink.at("/alice", "acknowledged")) == 1, what="Alice's notice")
    assert sink.at("/alice", "acknowledged")[0]["acknowledged_by"] == "Bob"
    assert sink.at("/bob", "acknowledged") == []
    await eventually(lambda: len(mailbox.messages) == 5, what="resolved mails")
    incident = await store.get(incident_id)
    assert incident is not None
    assert incident.status == "resolved"

    headers = await read_token(redis)

    async def timeline() -> list[str]:
        api = f"{service.url}/api/v1/incidents/{incident_id}"
        async with aiohttp.ClientSession(headers=headers) as http, http.get(api) as got:
            body = await got.json()
        return [event["kind"] for event in body["timeline"]]

    async def notices_recorded() -> bool:
        return (await timeline()).count("resolved_notice") == 4

    await eventually(notices_recorded, what="resolved notices in the timeline")
    kinds = await timeline()
    for expected in (
        "created",
        "paged",
        "escalated",
        "acknowledged",
        "resolved",
        "resolved_notice",
    ):
        assert expected in kinds
    records, _ = await store.alerts(incident_id)
    assert [a.count for a in records] == [1]

    # The log tells the same story, one line per event, naming the incident...
    events = [
        (getattr(r, "event", None), getattr(r, "incident", None), getattr(r, "person", None))
        for r in caplog.records
    ]
    for expected in [
        ("incident_opened", incident_id, None),
        ("paged", incident_id, "alice"),
        ("escalated", incident_id, None),
        ("paged", incident_id, "bob"),
        ("acknowledged", incident_id, "bob"),
        ("incident_resolved", incident_id, None),
        ("resolved_notice", incident_id, "alice"),
    ]:
        assert expected in events
    # ...and never holds a credential: an acknowledge link is one.
    token = bob_page["ack_url"].rsplit("/", 1)[1]
    assert not [r for r in caplog.records if token in r.getMessage() or "/ack/" in r.getMessage()]


async def test_the_same_alert_a_hundred_times_pages_each_person_once(
    service: Running, redis: Redis, sink: Sink, mailbox: Mailbox
) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.post(
                service.url + WEBHOOK, json=alertmanager_payload("firing")
            ) as response:
                assert response.status == 202
    store = IncidentStore(redis)

    async def all_counted() -> bool:
        incidents = await store.list()
        if len(incidents) != 1:
            return False
        records, _ = await store.alerts(incidents[0].id)
        return [record.count for record in records] == [100]

    await eventually(all_counted, what="100 repeats counted on one incident")
    await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="Alice's page")
    await eventually(lambda: len(mailbox.to("alice@example.com")) == 1, what="Alice's mail")
    assert len(await store.list()) == 1
    assert len(sink.at("/alice", "page")) == 1
    assert len(mailbox.to("alice@example.com")) == 1
