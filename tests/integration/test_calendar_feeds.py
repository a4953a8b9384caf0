"""Calendar feeds on the web role's app, against the real Valkey: a feed parses with
``icalendar`` and gives back the shifts it was made from, stored overrides included; its
UIDs stay put as time goes on; a wrong token is a 404 like an unknown name; and
``tocsin calendar-url`` prints a URL the app accepts."""

import os
from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from redis.asyncio import Redis

from schedules.oncall import holders
from schedules.override_store import OverrideStore
from schedules.stored import StoredOverride
from tests.conftest import ManualClock
from tests.integration.test_api import DEPLOY, Client, loaded, serve
from tocsin.calendar_feeds import FEED_WEEKS, PAST, feed_path
from tocsin.cli import main
from tocsin.config import LoadedConfig
from tocsin.runtime import Runtime
from tocsin.settings import Settings

__all__ = ["loaded"]  # the fixture of the API's tests

SECRET = "calendar-test-key-of-at-least-32-bytes"
Shifts = list[tuple[str, datetime, datetime]]


@pytest.fixture
def runtime(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> Runtime:
    return Runtime(Settings(), loaded, redis, SECRET.encode(), clock=clock)


async def events(client: Client, path: str) -> tuple[Shifts, list[str]]:
    """The feed's (person's name, start, end) in order, and its UIDs."""
    async with client.get(path) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/calendar"
        calendar = Calendar.from_ical(await response.read())
    found = [
        (str(e["summary"]).split(" on call")[0], e.decoded("dtstart"), e.decoded("dtend"))
        for e in calendar.walk("VEVENT")
    ]
    return found, [str(e["uid"]) for e in calendar.walk("VEVENT")]


def window(clock: ManualClock) -> tuple[datetime, datetime]:
    now = clock()
    return now.replace(hour=0) - PAST, now + timedelta(weeks=FEED_WEEKS)


async def test_a_schedule_feed_round_trips_its_shifts(
    runtime: Runtime, loaded: LoadedConfig, redis: Redis, clock: ManualClock
) -> None:
    # Bob stands in for an hour of Alice's week.
    bob = StoredOverride(
        id="",
        schedule="payments-primary",
        person="bob",
        start=clock(),
        end=clock() + timedelta(hours=1),
        created_at=clock(),
    )
    await OverrideStore(redis).add(bob, clock())
    names = {"alice": "Alice", "bob": "Bob"}
    schedule = loaded.schedules["payments-primary"]
    expected = [
        (names[s.person or ""], s.start, s.end)
        for s in holders(schedule, *window(clock), [bob.cover()])
    ]
    path = feed_path("schedule", "payments-primary", SECRET.encode())

    async with serve(runtime) as client:
        found, uids = await events(client, path)
        assert found == expected
        assert ("Bob", clock(), clock() + timedelta(hours=1)) in found
        assert len(set(uids)) == len(uids)
        # An hour on, the same shifts keep their UIDs; only the last one reaches further.
        clock.advance(timedelta(hours=1))
        later, later_uids = await events(client, path)
    assert later_uids == uids
    assert later[:-1] == found[:-1]
    assert later[-1][2] > found[-1][2]


async def test_a_person_feed_has_only_their_shifts(runtime: Runtime, clock: ManualClock) -> None:
    async with serve(runtime) as client:
        found, _ = await events(client, feed_path("person", "bob", SECRET.encode()))
    assert found
    assert {who for who, *_ in found} == {"Bob"}
    # Bob's weeks are every other one, Mondays 09:00 Berlin.
    assert all(start.weekday() == 0 for _, start, _ in found[1:])


@pytest.mark.parametrize(
    "path",
    [
        "/schedules/payments-primary.ics",
        "/schedules/payments-primary.ics?token=0123456789abcdef0123456789abcdef",
        feed_path("person", "alice", SECRET.encode()).replace("/people/alice", "/people/bob"),
        feed_path("schedule", "alice", SECRET.encode()).replace("/schedules/", "/people/"),
        feed_path("schedule", "nope", SECRET.encode()),
    ],
    ids=["no token", "wrong token", "another's token", "a schedule's token", "unknown name"],
)
async def test_without_the_right_token_there_is_no_feed(runtime: Runtime, path: str) -> None:
    async with serve(runtime) as client, client.get(path) as response:
        assert response.status == 404
        assert await response.text() == "no such calendar"


def test_calendar_url_prints_the_feed_the_app_serves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in filter(lambda n: n.startswith("TOCSIN_"), list(os.environ)):
        monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_SECRET_KEY", SECRET)
    monkeypatch.setenv("TOCSIN_PUBLIC_URL", "https://tocsin.example/")
    monkeypatch.setenv("TOCSIN_CONFIG", str(DEPLOY))

    assert main(["calendar-url", "person", "alice"]) == 0
    assert capsys.readouterr().out == (
        f"https://tocsin.example{feed_path('person', 'alice', SECRET.encode())}\n"
    )
    assert main(["calendar-url", "schedule", "nope"]) == 2
    assert "no schedule 'nope' (known: payments-primary)" in capsys.readouterr().err
