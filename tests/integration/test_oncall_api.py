"""Who is on call over ``/api/v1`` (a read token), on the web role's app against the real
Valkey with deploy/tocsin.yaml: Alice and Bob take turns by the week from Monday 2026-01-05
09:00 Berlin, and the clock stands at Monday 2026-03-02 12:00 UTC, in Alice's week. Stored
overrides count as the pages count them; ranges asked wrong are a 400 naming the parameter.
Who may ask is tests/integration/test_api_tokens.py's."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from schedules.override_store import OverrideStore
from tests.conftest import ManualClock
from tests.integration.test_api import Client, get_json, loaded, runtime, serve
from tests.integration.test_stored_overrides import stand_in
from tocsin.calendar_feeds import feed_url
from tocsin.runtime import Runtime
from tocsin.tokens import Scope, TokenStore

__all__ = ["loaded", "runtime"]  # the fixtures of the incidents API's tests

WEEK_ENDS = "2026-03-09T08:00:00Z"  # 09:00 Berlin
PRIMARY = "payments-primary"


@pytest.fixture
async def reader(runtime: Runtime, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    token, _ = await TokenStore(redis).create("dashboard", Scope.READ, clock())
    async with serve(runtime, token) as client:
        yield client


def shift(person: str | None, start: str, end: str, **flags: bool) -> dict[str, Any]:
    names = {"alice": "Alice", "bob": "Bob", None: None}
    return {
        "person": person,
        "name": names[person],
        "start": start,
        "end": end,
        "override": flags.get("override", False),
        "stored_override": flags.get("stored", False),
    }


async def test_who_is_on_call_and_whom_each_level_pages(reader: Client) -> None:
    body = await get_json(reader, "/api/v1/oncall")

    assert body["at"] == "2026-03-02T12:00:00Z"
    (schedule,) = body["schedules"]
    assert schedule["schedule"] == "payments-primary"
    assert schedule["timezone"] == "Europe/Berlin"
    assert schedule["current"] == shift("alice", "2026-03-02T12:00:00Z", WEEK_ENDS)
    assert schedule["until"] == WEEK_ENDS
    assert schedule["next"] == [
        shift("bob", WEEK_ENDS, "2026-03-16T08:00:00Z"),
        shift("alice", "2026-03-16T08:00:00Z", "2026-03-16T12:00:00Z"),  # cut at two weeks
    ]
    (policy,) = body["policies"]
    assert policy == {
        "policy": "payments",
        "repeat": 1,
        "levels": [
            {
                "targets": ["schedule:payments-primary"],
                "ack_timeout": "PT2M",
                "pages_now": [{"id": "alice", "name": "Alice"}],
            },
            {
                "targets": ["person:bob"],
                "ack_timeout": "PT5M",
                "pages_now": [{"id": "bob", "name": "Bob"}],
            },
        ],
    }


async def test_a_stored_override_is_on_call_and_paged(
    reader: Client, redis: Redis, clock: ManualClock
) -> None:
    await OverrideStore(redis).add(stand_in(clock, "bob", 1, PRIMARY), clock())

    body = await get_json(reader, "/api/v1/oncall")

    (schedule,) = body["schedules"]
    assert schedule["current"] == shift(
        "bob", "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z", override=True, stored=True
    )
    assert schedule["next"][0] == shift("alice", "2026-03-02T13:00:00Z", WEEK_ENDS)
    assert body["policies"][0]["levels"][0]["pages_now"] == [{"id": "bob", "name": "Bob"}]


async def test_a_schedules_shifts_over_a_range(
    reader: Client, redis: Redis, clock: ManualClock
) -> None:
    await OverrideStore(redis).add(stand_in(clock, "bob", 1, PRIMARY), clock())
    # Christmas: the file's override gives Bob the 24th to the 27th, Berlin time.
    body = await get_json(
        reader,
        "/api/v1/schedules/payments-primary?since=2026-12-21T08:00:00Z&until=2026-12-28T08:00Z",
    )

    assert body == {
        "schedule": "payments-primary",
        "timezone": "Europe/Berlin",
        "since": "2026-12-21T08:00:00Z",
        "until": "2026-12-28T08:00:00Z",
        "shifts": [
            shift("alice", "2026-12-21T08:00:00Z", "2026-12-23T23:00:00Z"),
            shift("bob", "2026-12-23T23:00:00Z", "2026-12-26T23:00:00Z", override=True),
            shift("alice", "2026-12-26T23:00:00Z", "2026-12-28T08:00:00Z"),
        ],
    }
    # By default two weeks from now, the stored override first.
    first = (await get_json(reader, "/api/v1/schedules/payments-primary"))["shifts"][0]
    assert first == shift(
        "bob", "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z", override=True, stored=True
    )


async def test_every_schedule(reader: Client) -> None:
    body = await get_json(reader, "/api/v1/schedules?since=2026-03-09T00:00Z&until=2026-03-10")

    (schedule,) = body["schedules"]
    assert (schedule["schedule"], schedule["since"], schedule["until"]) == (
        "payments-primary",
        "2026-03-09T00:00:00Z",
        "2026-03-10T00:00:00Z",  # no offset: UTC
    )
    assert [s["person"] for s in schedule["shifts"]] == ["alice", "bob"]


async def test_a_persons_shifts_and_calendar(reader: Client, runtime: Runtime) -> None:
    body = await get_json(reader, "/api/v1/people/bob/shifts?until=2026-03-30T12:00Z")

    assert body["person"] == "bob"
    assert body["name"] == "Bob"
    assert body["calendar_url"] == feed_url(
        runtime.settings.base_url, "person", "bob", runtime.secret
    )
    assert (body["since"], body["until"]) == ("2026-03-02T12:00:00Z", "2026-03-30T12:00:00Z")
    assert [(s["schedule"], s["start"], s["end"]) for s in body["shifts"]] == [
        ("payments-primary", WEEK_ENDS, "2026-03-16T08:00:00Z"),
        ("payments-primary", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"),  # summer time
    ]
    async with reader.get(body["calendar_url"].removeprefix(runtime.settings.base_url)) as feed:
        assert feed.status == 200
        assert feed.content_type == "text/calendar"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("since=yesterday", "since: invalid time 'yesterday'"),
        ("until=2026-13-01", "until: invalid time '2026-13-01'"),
        ("since=", "since: invalid time ''"),
        ("since=2026-03-10&until=2026-03-09", "since must be before until"),
        ("since=2026-03-10&until=2026-03-10", "since must be before until"),
        ("since=2026-01-01&until=2026-04-02", "the range is longer than 90 days"),
        ("since=9999-12-31T23:00Z", "since: ask for a time from 1970 to 2200"),
        ("since=0001-01-01T00:00%2B01:00", "since: date value out of range"),
        ("until=1969-12-31", "until: ask for a time from 1970 to 2200"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/schedules", "/api/v1/schedules/payments-primary", "/api/v1/people/bob/shifts"]
)
async def test_a_range_asked_wrong_is_a_400_naming_it(
    reader: Client, path: str, query: str, error: str
) -> None:
    body = await get_json(reader, f"{path}?{query}", status=400)

    assert set(body) == {"error"}
    assert body["error"].startswith(error)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/api/v1/schedules/nightly", "no schedule 'nightly'"),
        ("/api/v1/people/mallory/shifts", "no person 'mallory'"),
    ],
)
async def test_an_unknown_schedule_or_person_is_a_404(
    reader: Client, path: str, error: str
) -> None:
    assert await get_json(reader, path, status=404) == {"error": error}
