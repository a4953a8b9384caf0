"""``POST /api/v1/incidents/{id}/severity`` through the real webhook, router and store: the
answer in the console's words, who is recorded, the raise announced to the notifier, and the
refusals a tool can act on (404, 409, 400 naming the field)."""

from typing import Any

import pytest
from redis.asyncio import Redis

from router.consumer import Router
from router.models import IncidentEventKind
from tests.integration.test_api import Client, client, get_json, loaded, router, runtime, send
from tests.integration.test_incident_actions_api import act, announced

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def test_lower_then_raise_records_who_and_announces_the_raise(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)  # critical: SEV1

    lowered = await act(client, "1", "severity", json={"severity": "SEV3", "by": "alice"})
    raised = await act(client, "1", "severity", json={"severity": "SEV2"})
    again = await act(client, "1", "severity", json={"severity": "SEV2"})

    assert lowered["result"] == "Lowered to SEV3."
    assert raised["result"] == "Raised to SEV2: paged again from level 1."
    assert (raised["incident"]["severity"], raised["incident"]["page_epoch"]) == ("SEV2", 1)
    assert again["result"] == "Already SEV2."
    timeline = (await get_json(client, "/api/v1/incidents/1"))["timeline"]
    changes = [(e["person"], e["detail"]) for e in timeline if e["kind"] == "severity_changed"]
    assert changes == [
        ("alice", "SEV1 → SEV3 by alice"),
        ("token:tests", "SEV3 → SEV2 by token:tests"),
    ]
    assert await announced(redis) == [
        ("1", IncidentEventKind.OPENED),
        ("1", IncidentEventKind.SEVERITY_RAISED),
    ]


async def test_a_raise_once_acknowledged_says_who_is_told(client: Client, router: Router) -> None:
    await send(client, router)
    await act(client, "1", "severity", json={"severity": "SEV4"})
    await act(client, "1", "acknowledge", json={"by": "alice"})

    raised = await act(client, "1", "severity", json={"severity": "SEV1"})

    assert raised["result"] == "Raised to SEV1: Alice is told."
    assert raised["incident"]["status"] == "acknowledged"


async def test_lowered_to_sev4_escalating_says_to_raise_it(client: Client, router: Router) -> None:
    await send(client, router)
    await act(client, "1", "severity", json={"severity": "SEV4"})

    refused = await act(client, "1", "escalate", status=409, json={"by": "alice"})

    assert refused["error"] == "Not escalated: SEV4 pages nobody; raise the severity to page."


async def test_a_resolved_incident_keeps_its_severity(client: Client, router: Router) -> None:
    await send(client, router)
    await act(client, "1", "resolve", json={"by": "bob"})

    refused = await act(client, "1", "severity", status=409, json={"severity": "SEV4"})

    assert refused["error"].startswith("Already resolved by Bob at")
    assert (await get_json(client, "/api/v1/incidents/1"))["severity"] == "SEV1"


async def test_an_unknown_incident_is_404(client: Client) -> None:
    refused = await act(client, "404", "severity", status=404, json={"severity": "SEV1"})
    assert refused == {"error": "no such incident"}


BAD_BODIES = {
    "an unknown severity": (
        {"severity": "SEV9"},
        400,
        "severity: Input should be 'SEV1', 'SEV2', 'SEV3' or 'SEV4'",
    ),
    "a lower case one": ({"severity": "sev2"}, 400, "severity: Input should be"),
    "none": ({}, 400, "severity: Field required"),
    "another field": ({"severity": "SEV2", "level": 2}, 400, "level: Extra inputs"),
    "by a stranger": ({"severity": "SEV2", "by": "eve"}, 400, "by: 'eve' is not a person"),
    "not JSON": (b"{severity: SEV2", 400, "malformed JSON"),
}


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES.values(), ids=BAD_BODIES)
async def test_a_bad_body_is_refused_naming_the_field_and_changes_nothing(
    client: Client, router: Router, body: Any, status: int, message: str
) -> None:
    await send(client, router)
    sent = {"data": body} if isinstance(body, bytes) else {"json": body}

    refused = await act(client, "1", "severity", status=status, **sent)

    assert message in refused["error"]
    incident = await get_json(client, "/api/v1/incidents/1")
    assert (incident["severity"], incident["page_epoch"]) == ("SEV1", 0)
    assert [e["kind"] for e in incident["timeline"]] == ["created", "alert_added"]
