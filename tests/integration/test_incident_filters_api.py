"""``GET /api/v1/incidents`` with ``status``, ``severity`` and ``route``: chosen among the
newest incidents, with ``limit`` and ``offset`` counting the chosen ones."""

import pytest

from router.consumer import Router
from tests.conftest import ManualClock
from tests.integration.test_api import (
    Client,
    client,
    get_json,
    loaded,
    router,
    runtime,
    three_incidents,
)
from tests.integration.test_incident_actions_api import act

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests


async def ids(client: Client, query: str) -> list[str]:
    return [i["id"] for i in (await get_json(client, f"/api/v1/incidents?{query}"))["incidents"]]


async def test_filters_choose_and_offset_counts_the_chosen(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await three_incidents(client, router, clock)  # 1, 2, 3: all SEV1 on route-1
    await act(client, "1", "acknowledge")
    await act(client, "2", "resolve")

    assert await ids(client, "status=open") == ["3", "1"]
    assert await ids(client, "status=triggered") == ["3"]
    assert await ids(client, "status=acknowledged") == ["1"]
    assert await ids(client, "status=resolved") == ["2"]
    assert await ids(client, "status=open&limit=1&offset=1") == ["1"]
    assert await ids(client, "status=open&offset=2") == []
    assert await ids(client, "severity=SEV1&route=route-1") == ["3", "2", "1"]
    assert await ids(client, "severity=SEV2") == []
    assert await ids(client, "route=route-2&status=open") == []


BAD = {
    "status=closed": "status must be one of open, triggered, acknowledged, resolved, not 'closed'",
    "severity=sev1": "severity must be one of SEV1, SEV2, SEV3, SEV4, not 'sev1'",
}


@pytest.mark.parametrize(("query", "message"), BAD.items(), ids=BAD)
async def test_a_bad_filter_is_400_naming_it(client: Client, query: str, message: str) -> None:
    assert await get_json(client, f"/api/v1/incidents?{query}", status=400) == {"error": message}
