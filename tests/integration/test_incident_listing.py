"""Listing incidents by creation time with cursors, on the real Valkey: ``GET
/api/v1/incidents`` with ``since``/``until``, ``service`` and ``cursor``, and the reading
under it (``router.index_reader``, ``tocsin.incident_listing``)."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from ingest.models import Alert
from router.config import Route, RoutingConfig
from router.index_reader import IndexReader, Position, Window
from router.store import IncidentStore
from tests.integration.test_api import Client, client, get_json, loaded, runtime
from tests.integration.test_incident_store import T0, alert
from tocsin.incident_filter import IncidentFilter, cursor_text, parse_cursor
from tocsin.incident_listing import listed
from tocsin.store import connect

__all__ = ["client", "loaded", "runtime"]  # the fixtures of the incidents API's tests

ROUTING = RoutingConfig(
    routes=[
        Route(name="api", match={"team": "api"}, policy="api-oncall", group_by=["service"]),
        Route(
            name="db", match={"team": "db"}, policy="db-oncall", service="db", group_by=["service"]
        ),
    ]
)


async def opened(redis: Redis, alerts: list[Alert]) -> list[str]:
    """The ids of the incidents the alerts open, in the order given."""
    ids = []
    for result in await IncidentStore(redis).apply_alerts([(a, None) for a in alerts], ROUTING):
        assert not isinstance(result, BaseException), result
        incident = result[0].incident
        assert incident is not None
        ids.append(incident.id)
    return ids


async def each_at(redis: Redis, *minutes: int, team: str = "api") -> list[str]:
    """One incident opened at each ``T0 + minute``."""
    return await opened(
        redis,
        [
            alert("x", at=T0 + timedelta(minutes=m), service=f"{team}-{m}", team=team)
            for m in minutes
        ],
    )


async def pages(client: Client, query: str) -> list[dict[str, Any]]:
    """Every page of a listing, following ``next_cursor``."""
    answers = [await get_json(client, f"/api/v1/incidents?{query}")]
    while answers[-1]["next_cursor"] is not None:
        assert len(answers) < 100, "the cursor goes nowhere"
        cursor = answers[-1]["next_cursor"]
        answers.append(await get_json(client, f"/api/v1/incidents?{query}&cursor={cursor}"))
    return answers


def ids_of(answer: dict[str, Any]) -> list[str]:
    return [i["id"] for i in answer["incidents"]]


async def test_cursor_pages_meet_every_incident_once_while_new_ones_open(
    client: Client, redis: Redis
) -> None:
    old = await each_at(redis, *range(250))
    newest_first = list(reversed(old))
    seen: list[str] = []
    cursor = ""
    for page in range(1, 20):
        answer = await get_json(client, f"/api/v1/incidents?limit=40{cursor}")
        seen += ids_of(answer)
        if answer["next_cursor"] is None:
            break
        cursor = f"&cursor={answer['next_cursor']}"
        # New incidents open between pages, newer than any listed so far.
        await each_at(redis, *range(1000 + 10 * page, 1005 + 10 * page), team="db")

    assert seen[:40] == newest_first[:40]
    assert [i for i in seen if i in set(old)] == newest_first
    assert len(seen) == len(set(seen)) == 250


async def test_incidents_of_one_millisecond_page_by_id(client: Client, redis: Redis) -> None:
    same = await opened(redis, [alert("x", service=f"svc-{n}") for n in range(12)])

    answers = await pages(client, "limit=5")

    assert [len(ids_of(a)) for a in answers] == [5, 5, 2]
    assert [i for a in answers for i in ids_of(a)] == list(reversed(same))


async def test_the_last_full_page_has_no_cursor(client: Client, redis: Redis) -> None:
    await each_at(redis, 0, 1, 2, 3)

    answers = await pages(client, "limit=2")

    assert [len(ids_of(a)) for a in answers] == [2, 2]


WINDOWS = {
    # since is in the window, until is not; a time without offset is UTC.
    "since=2026-03-02T12:01:00Z&until=2026-03-02T12:03:00Z": [2, 1],
    "since=2026-03-02T12:01:00&until=2026-03-02T12:03:00.001": [3, 2, 1],
    "since=2026-03-02T12:00:59.999Z": [3, 2, 1],
    "since=2026-03-02T12:01:00.001Z": [3, 2],
    "until=2026-03-02T12:01:00Z": [0],
    "until=2026-03-02T13:01:00%2B01:00": [0],
    "since=2026-03-02T12:04:00Z": [],
}


@pytest.mark.parametrize(("query", "minutes"), WINDOWS.items(), ids=WINDOWS)
async def test_time_windows_at_their_edges(
    client: Client, redis: Redis, query: str, minutes: list[int]
) -> None:
    ids = await each_at(redis, 0, 1, 2, 3)

    answer = await get_json(client, f"/api/v1/incidents?{query}")

    assert ids_of(answer) == [ids[m] for m in minutes]


async def test_a_window_pages_by_cursor_and_offset(client: Client, redis: Redis) -> None:
    ids = await each_at(redis, *range(10))
    window = "since=2026-03-02T12:02:00Z&until=2026-03-02T12:08:00Z"

    answers = await pages(client, f"{window}&limit=4")
    by_offset = await get_json(client, f"/api/v1/incidents?{window}&limit=4&offset=4")

    assert [ids_of(a) for a in answers] == [ids[7:3:-1], ids[3:1:-1]]
    assert ids_of(by_offset) == ids[3:1:-1]


async def test_service_and_status_filters_page_by_cursor(client: Client, redis: Redis) -> None:
    await each_at(redis, *range(0, 40, 2))
    db = await each_at(redis, *range(1, 40, 2), team="db")

    answers = await pages(client, "service=db&limit=6")
    # The api route names no service: its incidents have none, whatever their labels say.
    other = await get_json(client, "/api/v1/incidents?service=api-4")

    assert [i for a in answers for i in ids_of(a)] == list(reversed(db))
    assert [len(ids_of(a)) for a in answers] == [6, 6, 6, 2]
    assert {i["service"] for a in answers for i in a["incidents"]} == {"db"}
    assert ids_of(other) == []
    assert not any(a["truncated"] for a in answers)


async def test_a_scan_that_hits_its_bound_says_so_and_can_go_on(redis: Redis) -> None:
    (oldest,) = await each_at(redis, 0, team="db")
    await each_at(redis, *range(1, 26))
    reader = IndexReader(redis)
    chosen = IncidentFilter(service="db")

    first = await listed(reader, chosen, 5, most=10)
    second = await listed(reader, chosen, 5, after=first.next, most=10)
    third = await listed(reader, chosen, 5, after=second.next, most=10)

    assert (first.incidents, first.truncated, second.incidents, second.truncated) == (
        [],
        True,
        [],
        True,
    )
    assert first.next is not None
    assert second.next is not None
    assert ([i.id for i in third.incidents], third.truncated, third.next) == ([oldest], False, None)


async def test_expired_incidents_leave_the_index_as_pages_meet_them(redis: Redis) -> None:
    ids = await each_at(redis, 0, 1, 2, 3)
    await redis.delete(f"tocsin:router:incident:{ids[2]}")
    reader = IndexReader(redis)

    page = await reader.newest(3, Window())

    assert [i.id for _, i in page.incidents] == [ids[3], ids[1]]
    assert (page.read, page.more) == (3, True)
    assert await redis.zcard("tocsin:router:incidents") == 3


BAD = {
    "since=yesterday": "since: invalid time 'yesterday'",
    "until=2026-13-01": "until: invalid time '2026-13-01'",
    "since=2026-03-02T12:00Z&until=2026-03-02T12:00Z": "since must be before until",
    "cursor=nope": "cursor: not a cursor this API gave",
    "cursor=MTI6MDA": "cursor: not a cursor this API gave",
    f"cursor={cursor_text(Position(12, '0' * 20))}&offset=1": "give cursor or offset, not both",
}


@pytest.mark.parametrize(("query", "message"), BAD.items(), ids=BAD)
async def test_bad_listing_parameters_are_400_naming_them(
    client: Client, query: str, message: str
) -> None:
    answer = await get_json(client, f"/api/v1/incidents?{query}", status=400)
    assert answer["error"].startswith(message)


def test_cursors_list_any_history_once_in_creation_order(valkey_url: str) -> None:
    """Whatever the creation times (routers' clocks disagree, so ids need not follow them;
    many open in one millisecond) and page size, following cursors lists every incident
    once: newest first, the higher id first within a millisecond. (Its own event loop per
    example: hypothesis calls it synchronously.)"""

    async def scenario(offsets: list[int], limit: int) -> None:
        redis = connect(valkey_url)
        try:
            await redis.flushall()
            ids = await opened(
                redis,
                [
                    alert("x", at=T0 + timedelta(milliseconds=ms), service=f"svc-{n}")
                    for n, ms in enumerate(offsets)
                ],
            )
            expected = [
                i
                for _, i in sorted(zip(offsets, ids, strict=True), key=lambda o: (o[0], int(o[1])))
            ]
            reader, seen, after = IndexReader(redis), [], None
            for _ in range(len(offsets) + 1):  # a cursor that went nowhere would loop
                page = await listed(reader, IncidentFilter(), limit, after=after)
                seen += [i.id for i in page.incidents]
                if page.next is None:
                    break
                after = parse_cursor(cursor_text(page.next))
            assert seen == expected[::-1]
            assert page.next is None
        finally:
            await redis.aclose()

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.integers(0, 5), max_size=30), st.integers(1, 7))
    def check(offsets: list[int], limit: int) -> None:
        asyncio.run(scenario(offsets, limit))

    check()
