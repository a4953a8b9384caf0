"""The incident page's other actions over the API (escalate, snooze, reassign) and notes,
through the real webhook, router and store: the answer in the page's words, who is recorded,
and the refusals a tool can act on (400, 404, 409)."""

from datetime import timedelta
from typing import Any

import pytest
from arq.constants import job_key_prefix
from redis.asyncio import Redis

from notifier import keys
from notifier.escalation import Step
from router.consumer import Router
from router.models import TimelineEvent, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.test_api import (
    Client,
    client,
    get_json,
    loaded,
    router,
    runtime,
    send,
    serve,
)
from tests.integration.test_incident_actions_api import act
from tocsin.console.incidents import MAX_NOTE
from tocsin.runtime import Runtime
from tocsin.tokens import Scope, TokenStore

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def paged_level_one(redis: Redis, clock: ManualClock) -> None:
    """What the notifier records when it pages the first level of incident 1."""
    event = TimelineEvent(at=clock(), kind=TimelineKind.PAGED, level=1, round=0, epoch=0)
    await IncidentStore(redis).add_timeline("1", [event])


async def test_escalate_schedules_the_next_level_once(
    client: Client, router: Router, redis: Redis, clock: ManualClock
) -> None:
    await send(client, router)
    nobody = await act(client, "1", "escalate", status=409)
    assert nobody == {"error": "Nobody has been paged yet: nothing to escalate."}
    await paged_level_one(redis, clock)

    body = await act(client, "1", "escalate", json={"by": "alice"})

    assert body["result"] == "Escalated: level 2 is paged now."
    assert body["incident"]["status"] == "triggered"
    job = keys.escalate_now_job_id("1", Step(0, 0, epoch=0))
    assert await redis.exists(job_key_prefix + job)


async def test_snooze_records_the_token_and_until_when(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await send(client, router)

    body = await act(client, "1", "snooze", json={"minutes": 30})

    assert body["result"].startswith("Snoozed: it pages again at")
    incident = body["incident"]
    assert (incident["status"], incident["acknowledged_by"]) == ("acknowledged", "token:tests")
    assert incident["snoozed_until"] == "2026-03-02T12:30:00Z"
    again = await act(client, "1", "snooze", json={"minutes": 30})
    assert again["result"].startswith("Already snoozed")


async def test_reassign_hands_to_a_person_of_the_policy(client: Client, router: Router) -> None:
    await send(client, router)

    body = await act(client, "1", "reassign", json={"to": "bob", "by": "alice"})

    assert body["result"] == "Handed to Bob: they are paged now."
    incident = body["incident"]
    assert (incident["assigned_to"], incident["assigned_by"]) == ("bob", "alice")


async def test_actions_that_need_an_untaken_incident_are_409_once_acknowledged(
    client: Client, router: Router, redis: Redis, clock: ManualClock
) -> None:
    await send(client, router)
    await paged_level_one(redis, clock)
    await act(client, "1", "acknowledge", json={"by": "alice"})

    escalated = await act(client, "1", "escalate", status=409)
    reassigned = await act(client, "1", "reassign", status=409, json={"to": "bob"})

    assert escalated["error"].startswith("Not escalated: already acknowledged by Alice")
    assert reassigned["error"].startswith("Not handed over: already acknowledged by Alice")
    await act(client, "1", "resolve")
    snoozed = await act(client, "1", "snooze", status=409, json={"minutes": 15})
    assert snoozed["error"].startswith("Already resolved")


async def test_a_note_joins_the_timeline_with_who_wrote_it(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await send(client, router)
    clock.advance(timedelta(minutes=1))

    body = await act(client, "1", "notes", json={"text": "  rolling back 4.2  "})
    await act(client, "1", "notes", json={"text": "é" * MAX_NOTE, "by": "bob"})

    assert (body["result"], body["incident"]["id"]) == ("noted", "1")
    timeline = (await get_json(client, "/api/v1/incidents/1"))["timeline"]
    notes = [(e["person"], e["detail"], e["at"]) for e in timeline if e["kind"] == "note"]
    assert notes == [
        ("token:tests", "rolling back 4.2", "2026-03-02T12:01:00Z"),
        ("bob", "é" * MAX_NOTE, "2026-03-02T12:01:00Z"),
    ]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("escalate", None),
        ("snooze", {"minutes": 15}),
        ("reassign", {"to": "bob"}),
        ("notes", {"text": "hello"}),
    ],
)
async def test_an_unknown_incident_is_404(
    client: Client, action: str, body: dict[str, Any] | None
) -> None:
    assert await act(client, "404", action, status=404, json=body) == {"error": "no such incident"}


BAD_BODIES = {
    "snooze for 10": ("snooze", {"minutes": 10}, 400, "minutes: Input should be 15, 30 or 60"),
    "snooze for ever": ("snooze", None, 400, "the body"),
    "snooze by a stranger": ("snooze", {"minutes": 15, "by": "eve"}, 400, "'eve' is not a person"),
    "reassign to a stranger": (
        "reassign",
        {"to": "mallory"},
        400,
        "'mallory' is not a person of this incident's escalation policy",
    ),
    "reassign to nobody": ("reassign", {}, 400, "to: Field required"),
    "an empty note": ("notes", {"text": "   "}, 400, "text: String should have at least 1"),
    "a long note": ("notes", {"text": "x" * (MAX_NOTE + 1)}, 400, f"at most {MAX_NOTE}"),
    "a note with more": ("notes", {"text": "hi", "at": "now"}, 400, "at: Extra inputs"),
}


@pytest.mark.parametrize(
    ("action", "body", "status", "message"), BAD_BODIES.values(), ids=BAD_BODIES
)
async def test_a_bad_body_is_refused_saying_why_and_changes_nothing(
    client: Client,
    router: Router,
    action: str,
    body: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    await send(client, router)

    refused = await act(client, "1", action, status=status, json=body)

    assert message in refused["error"]
    incident = await get_json(client, "/api/v1/incidents/1")
    assert (incident["status"], incident["assigned_to"]) == ("triggered", None)
    assert [e["kind"] for e in incident["timeline"]] == ["created", "alert_added"]


async def test_escalating_needs_a_write_token(
    runtime: Runtime, router: Router, redis: Redis, clock: ManualClock
) -> None:
    """Beside the other actions in the tokens' table: it answers 409 until someone is paged."""
    reader, _ = await TokenStore(redis).create("reader", Scope.READ, clock())
    writer, _ = await TokenStore(redis).create("writer", Scope.WRITE, clock())

    async with serve(runtime) as anyone:
        await send(anyone, router)
        await act(anyone, "1", "escalate", status=401)
        for token, status in ((reader, 403), (writer, 409)):
            headers = {"Authorization": f"Bearer {token}"}
            await act(anyone, "1", "escalate", status=status, headers=headers)
