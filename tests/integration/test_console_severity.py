"""The incident page's severity form, as ``tocsin web`` serves it against the real Valkey:
who set it is the signed-in person, a value that is no severity is named, and a resolved
incident offers no form and refuses one (its CSRF token: ``test_console``)."""

import re

import pytest
from redis.asyncio import Redis

from router.config import Severity
from router.consumer import Router
from router.models import Incident, TimelineKind
from router.store import IncidentStore
from tests.integration.test_api import send
from tests.integration.test_console import (
    Client,
    client,
    csrf_of,
    loaded,
    page,
    post_form,
    router,
    sign_in,
)

__all__ = ["client", "loaded", "router"]  # the console's fixtures

FORM = re.compile(r'<select name="severity">(.*?)</select>', re.S)


async def stored(redis: Redis) -> Incident:
    incident = await IncidentStore(redis).get("1")
    assert incident is not None
    return incident


def choices(html: str) -> list[str]:
    found = FORM.search(html)
    return [] if found is None else re.findall(r'<option value="(SEV\d)">', found.group(1))


async def test_the_form_offers_the_other_severities_and_records_who_set_one(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)  # critical: SEV1
    await sign_in(client)
    assert choices(await page(client, "/incidents/1")) == ["SEV2", "SEV3", "SEV4"]

    lowered = await post_form(
        client, "/incidents/1/act", {"action": "severity", "severity": "SEV3"}, "/incidents/1"
    )
    assert lowered.status == 303
    assert lowered.headers["Location"] == "/incidents/1?done=severity_lowered"
    shown = await page(client, "/incidents/1?done=severity_lowered")
    assert "Severity lowered: pages from now on go by it." in shown
    assert "SEV1 → SEV3 by alice" in shown
    assert choices(shown) == ["SEV1", "SEV2", "SEV4"]

    raised = await post_form(
        client, "/incidents/1/act", {"action": "severity", "severity": "SEV2"}, "/incidents/1"
    )
    assert raised.headers["Location"] == "/incidents/1?done=severity_raised"

    incident = await stored(redis)
    assert (incident.severity, incident.page_epoch) == (Severity.SEV2, 1)
    changes = [
        (e.person, e.detail)
        for e in await IncidentStore(redis).timeline("1")
        if e.kind is TimelineKind.SEVERITY_CHANGED
    ]
    assert changes == [("alice", "SEV1 → SEV3 by alice"), ("alice", "SEV3 → SEV2 by alice")]


async def test_the_same_severity_again_says_so(client: Client, router: Router) -> None:
    await send(client, router)
    await sign_in(client)

    response = await post_form(
        client, "/incidents/1/act", {"action": "severity", "severity": "SEV1"}, "/incidents/1"
    )

    assert response.status == 200
    assert "Already SEV1." in await response.text()


async def test_without_a_session_the_form_redirects_and_changes_nothing(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)
    data = {"action": "severity", "severity": "SEV4", "csrf": "x"}

    response = await client.post("/incidents/1/act", data=data, allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"].startswith("/login")
    assert (await stored(redis)).severity is Severity.SEV1


@pytest.mark.parametrize("value", [None, "SEV9", "sev2", ""])
async def test_a_value_that_is_no_severity_is_a_400_page_naming_it(
    client: Client, router: Router, redis: Redis, value: str | None
) -> None:
    await send(client, router)
    await sign_in(client)
    form = {"action": "severity"} | ({} if value is None else {"severity": value})

    response = await post_form(client, "/incidents/1/act", form, "/incidents/1")

    assert response.status == 400
    assert "severity: one of SEV1, SEV2, SEV3, SEV4" in await response.text()
    assert (await stored(redis)).severity is Severity.SEV1


async def test_a_resolved_incident_offers_no_form_and_refuses_one(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)
    await sign_in(client)
    token = csrf_of(await page(client, "/incidents/1"))
    await post_form(client, "/incidents/1/act", {"action": "resolve"}, "/incidents/1")
    assert choices(await page(client, "/incidents/1")) == []

    response = await client.post(
        "/incidents/1/act",
        data={"action": "severity", "severity": "SEV4", "csrf": token},
        allow_redirects=False,
    )

    assert response.status == 409
    assert "Already resolved by Alice" in await response.text()
    assert (await stored(redis)).severity is Severity.SEV1
