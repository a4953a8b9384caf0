"""Layers, restrictions and gaps: the resolver over several rotations, worked out by hand, and
its invariants checked over generated schedules."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.models import Schedule
from schedules.oncall import Cover, Shift, covering_layer, shifts, who_is_on_call
from schedules.weekly import DAYS


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def layered(timezone: str, *layers: dict[str, Any], overrides: Any = ()) -> Schedule:
    return Schedule.model_validate(
        {"name": "s", "timezone": timezone, "layers": list(layers), "overrides": list(overrides)}
    )


def layer(members: list[str], *restrictions: dict[str, Any], every: str = "1w") -> dict[str, Any]:
    return {
        "every": every,
        "handoff": "2026-01-05 09:00",
        "members": members,
        "restrictions": list(restrictions),
    }


def people(found: list[Shift]) -> list[tuple[str | None, datetime, datetime]]:
    return [(shift.person, shift.start, shift.end) for shift in found]


NIGHTS = {"start": "22:00", "end": "06:00"}
BUSINESS_HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}


def test_a_layer_above_answers_only_inside_its_restrictions() -> None:
    schedule = layered("UTC", layer(["alice"]), layer(["bob"], BUSINESS_HOURS))
    # 2026-01-09 is a Friday.
    found = shifts(schedule, utc("2026-01-09 00:00"), utc("2026-01-12 12:00"))
    assert people(found) == [
        ("alice", utc("2026-01-09 00:00"), utc("2026-01-09 09:00")),
        ("bob", utc("2026-01-09 09:00"), utc("2026-01-09 17:00")),
        ("alice", utc("2026-01-09 17:00"), utc("2026-01-12 09:00")),
        ("bob", utc("2026-01-12 09:00"), utc("2026-01-12 12:00")),
    ]


def test_where_no_layer_answers_there_is_a_gap() -> None:
    schedule = layered("UTC", layer(["alice"], BUSINESS_HOURS))
    assert who_is_on_call(schedule, utc("2026-01-09 16:59")) == "alice"
    assert who_is_on_call(schedule, utc("2026-01-09 17:00")) is None
    found = shifts(schedule, utc("2026-01-09 12:00"), utc("2026-01-12 10:00"))
    assert found == [
        Shift("alice", utc("2026-01-09 12:00"), utc("2026-01-09 17:00"), override=False),
        Shift(None, utc("2026-01-09 17:00"), utc("2026-01-12 09:00"), override=False),
        Shift("alice", utc("2026-01-12 09:00"), utc("2026-01-12 10:00"), override=False),
    ]


def test_an_override_fills_a_gap() -> None:
    override = {"person": "carol", "from": "2026-01-10 10:00", "to": "2026-01-10 12:00"}
    schedule = layered("UTC", layer(["alice"], BUSINESS_HOURS), overrides=[override])
    assert who_is_on_call(schedule, utc("2026-01-10 11:00")) == "carol"
    assert who_is_on_call(schedule, utc("2026-01-10 12:00")) is None


def test_overrides_given_by_the_caller_lie_above_the_files() -> None:
    override = {"person": "carol", "from": "2026-01-10 10:00", "to": "2026-01-10 12:00"}
    schedule = layered("UTC", layer(["alice"]), overrides=[override])
    extra = [Cover("dave", utc("2026-01-10 11:00"), utc("2026-01-10 13:00"))]
    found = shifts(schedule, utc("2026-01-10 09:00"), utc("2026-01-10 14:00"), extra)
    assert found == [
        Shift("alice", utc("2026-01-10 09:00"), utc("2026-01-10 10:00"), override=False),
        Shift("carol", utc("2026-01-10 10:00"), utc("2026-01-10 11:00"), override=True),
        Shift("dave", utc("2026-01-10 11:00"), utc("2026-01-10 13:00"), override=True),
        Shift("alice", utc("2026-01-10 13:00"), utc("2026-01-10 14:00"), override=False),
    ]


def test_follow_the_sun_halves_hand_over_twice_a_day() -> None:
    schedule = layered(
        "Europe/Berlin",
        layer(["carol", "dave"], {"start": "20:00", "end": "08:00"}),
        layer(["alice", "bob"], {"start": "08:00", "end": "20:00"}),
    )
    # Winter, CET = UTC+1; the weekly turn started Monday 2026-01-05 09:00 Berlin time.
    found = shifts(schedule, utc("2026-01-06 00:00"), utc("2026-01-07 00:00"))
    assert people(found) == [
        ("carol", utc("2026-01-06 00:00"), utc("2026-01-06 07:00")),
        ("alice", utc("2026-01-06 07:00"), utc("2026-01-06 19:00")),
        ("carol", utc("2026-01-06 19:00"), utc("2026-01-07 00:00")),
    ]
    assert covering_layer(schedule, utc("2026-01-06 12:00")) == 1
    assert covering_layer(schedule, utc("2026-01-06 20:00")) == 0


def test_a_one_rotation_schedule_is_a_schedule_of_one_layer() -> None:
    rotation = layer(["alice", "bob"], every="1d")
    del rotation["restrictions"]
    one = Schedule.model_validate({"name": "s", "timezone": "UTC", "rotation": rotation})
    stacked = layered("UTC", rotation)
    start, end = utc("2026-01-01 00:00"), utc("2026-02-01 00:00")
    assert shifts(one, start, end) == shifts(stacked, start, end)


# --- daylight saving: the expected instants are worked out by hand -----------------------
# Berlin 2026: forward 29 Mar 01:00 UTC (02:00 CET -> 03:00 CEST), back 25 Oct 01:00 UTC.
# New York 2026: forward 8 Mar 07:00 UTC (02:00 EST -> 03:00 EDT), back 1 Nov 06:00 UTC.
# Sydney 2026: back 4 Apr 16:00 UTC (03:00 AEDT -> 02:00 AEST), forward 3 Oct 16:00 UTC
# (02:00 AEST -> 03:00 AEDT).


NIGHTS_ACROSS_DST = {
    # 22:00 CET is 21:00 UTC, 06:00 CEST 04:00 UTC: a night of seven real hours.
    "Berlin forward": ("Europe/Berlin", "2026-03-28 12:00", "2026-03-28 21:00", "2026-03-29 04:00"),
    # 22:00 CEST is 20:00 UTC, 06:00 CET 05:00 UTC: nine hours.
    "Berlin back": ("Europe/Berlin", "2026-10-24 12:00", "2026-10-24 20:00", "2026-10-25 05:00"),
    # 22:00 EST is 03:00 UTC, 06:00 EDT 10:00 UTC.
    "New York forward": (
        "America/New_York",
        "2026-03-07 18:00",
        "2026-03-08 03:00",
        "2026-03-08 10:00",
    ),
    # 22:00 EDT is 02:00 UTC, 06:00 EST 11:00 UTC.
    "New York back": (
        "America/New_York",
        "2026-10-31 18:00",
        "2026-11-01 02:00",
        "2026-11-01 11:00",
    ),
    # 22:00 AEDT is 11:00 UTC, 06:00 AEST 20:00 UTC.
    "Sydney back": ("Australia/Sydney", "2026-04-04 06:00", "2026-04-04 11:00", "2026-04-04 20:00"),
    # 22:00 AEST is 12:00 UTC, 06:00 AEDT 19:00 UTC.
    "Sydney forward": (
        "Australia/Sydney",
        "2026-10-03 06:00",
        "2026-10-03 12:00",
        "2026-10-03 19:00",
    ),
}
"""Zone, the start of a day-long window in UTC, and the night's start and end in UTC."""


@pytest.mark.parametrize("case", NIGHTS_ACROSS_DST.values(), ids=NIGHTS_ACROSS_DST.keys())
def test_a_night_layer_keeps_its_wall_clock_hours_across_dst(
    case: tuple[str, str, str, str],
) -> None:
    zone, day, *night = case
    schedule = layered(zone, layer(["alice"]), layer(["bob"], NIGHTS))
    start = utc(day)
    end = start + timedelta(days=1)
    night_start, night_end = map(utc, night)
    assert people(shifts(schedule, start, end)) == [
        ("alice", start, night_start),
        ("bob", night_start, night_end),
        ("alice", night_end, end),
    ]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # An ordinary day: 02:30-04:00 EST is 07:30-09:00 UTC.
        ("2026-03-07", ("2026-03-07 07:30", "2026-03-07 09:00")),
        # 02:30 does not happen: read as EST, it is 07:30 UTC (03:30 EDT); 04:00 EDT 08:00 UTC.
        ("2026-03-08", ("2026-03-08 07:30", "2026-03-08 08:00")),
        # 02:30 happens once (EST), after 01:00-01:59 twice: 07:30-09:00 UTC.
        ("2026-11-01", ("2026-11-01 07:30", "2026-11-01 09:00")),
    ],
)
def test_a_restriction_starting_in_the_changed_hour_in_new_york(
    day: str, expected: tuple[str, str]
) -> None:
    schedule = layered(
        "America/New_York", layer(["alice"]), layer(["bob"], {"start": "02:30", "end": "04:00"})
    )
    found = shifts(schedule, utc(f"{day} 00:00"), utc(f"{day} 12:00"))
    assert [(s.start, s.end) for s in found if s.person == "bob"] == [tuple(map(utc, expected))]


def test_a_restriction_from_the_hour_that_happens_twice_starts_at_its_first() -> None:
    schedule = layered(
        "America/New_York", layer(["alice"]), layer(["bob"], {"start": "01:30", "end": "03:00"})
    )
    # 01:30 EDT is 05:30 UTC; 03:00 EST is 08:00 UTC: two and a half real hours.
    found = shifts(schedule, utc("2026-11-01 00:00"), utc("2026-11-01 12:00"))
    assert [(s.start, s.end) for s in found if s.person == "bob"] == [
        (utc("2026-11-01 05:30"), utc("2026-11-01 08:00"))
    ]


@pytest.mark.parametrize(
    ("zone", "handoff", "window", "expected"),
    [
        # Forward: 02:30 on 8 Mar does not happen; read as EST it is 07:30 UTC (03:30 EDT),
        # and the next day's 02:30 EDT is 06:30 UTC: that turn lasts 23 hours.
        (
            "America/New_York",
            "2026-03-06 02:30",
            ("2026-03-07 00:00", "2026-03-09 12:00"),
            [
                ("alice", "2026-03-07 00:00", "2026-03-07 07:30"),
                ("bob", "2026-03-07 07:30", "2026-03-08 07:30"),
                ("alice", "2026-03-08 07:30", "2026-03-09 06:30"),
                ("bob", "2026-03-09 06:30", "2026-03-09 12:00"),
            ],
        ),
        # Back: 01:30 on 1 Nov happens twice; the first (EDT) is 05:30 UTC, and the next
        # day's 01:30 EST is 06:30 UTC: that turn lasts 25 hours.
        (
            "America/New_York",
            "2026-10-30 01:30",
            ("2026-10-31 00:00", "2026-11-02 12:00"),
            [
                ("alice", "2026-10-31 00:00", "2026-10-31 05:30"),
                ("bob", "2026-10-31 05:30", "2026-11-01 05:30"),
                ("alice", "2026-11-01 05:30", "2026-11-02 06:30"),
                ("bob", "2026-11-02 06:30", "2026-11-02 12:00"),
            ],
        ),
        # Forward: 02:30 on 4 Oct does not happen; read as AEST it is 16:30 UTC (03:30 AEDT).
        (
            "Australia/Sydney",
            "2026-10-01 02:30",
            ("2026-10-02 12:00", "2026-10-05 00:00"),
            [
                ("bob", "2026-10-02 12:00", "2026-10-02 16:30"),
                ("alice", "2026-10-02 16:30", "2026-10-03 16:30"),
                ("bob", "2026-10-03 16:30", "2026-10-04 15:30"),
                ("alice", "2026-10-04 15:30", "2026-10-05 00:00"),
            ],
        ),
        # Back: 02:30 on 5 Apr happens twice; the first (AEDT) is 4 Apr 15:30 UTC.
        (
            "Australia/Sydney",
            "2026-04-01 02:30",
            ("2026-04-03 12:00", "2026-04-06 00:00"),
            [
                ("alice", "2026-04-03 12:00", "2026-04-03 15:30"),
                ("bob", "2026-04-03 15:30", "2026-04-04 15:30"),
                ("alice", "2026-04-04 15:30", "2026-04-05 16:30"),
                ("bob", "2026-04-05 16:30", "2026-04-06 00:00"),
            ],
        ),
    ],
)
def test_daily_handoffs_in_the_changed_hour(
    zone: str, handoff: str, window: tuple[str, str], expected: list[tuple[str, str, str]]
) -> None:
    rotation = {"every": "1d", "handoff": handoff, "members": ["alice", "bob"]}
    schedule = layered(zone, rotation)
    found = shifts(schedule, utc(window[0]), utc(window[1]))
    assert people(found) == [(who, utc(a), utc(b)) for who, a, b in expected]


# --- invariants over generated schedules -------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
WINDOW_START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = timedelta(days=21)
HOURS = [f"{h:02}:{m:02}" for h in range(24) for m in (0, 30)]


@st.composite
def restrictions(draw: st.DrawFn) -> dict[str, Any]:
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    start, end = draw(st.sampled_from(HOURS)), draw(st.sampled_from(HOURS))
    return {"days": days, "start": start, "end": end}


@st.composite
def layers(draw: st.DrawFn) -> dict[str, Any]:
    members = draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4))
    every = draw(st.sampled_from(["8h", "1d", "1w", "1h30m", "2d12h"]))
    day = draw(st.integers(1, 28))
    hour = draw(st.sampled_from(HOURS))
    return {
        "every": every,
        "handoff": f"2026-02-{day:02} {hour}",
        "members": members,
        "restrictions": draw(st.lists(restrictions(), max_size=2)),
    }


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    zone = draw(st.sampled_from(ZONES))
    picks = st.tuples(
        st.sampled_from("xyz"), st.integers(1, 20), st.integers(1, 5), st.sampled_from(HOURS)
    )
    overrides = [
        {"person": who, "from": f"2026-03-{day:02} {at}", "to": f"2026-03-{day + n:02} {at}"}
        for who, day, n, at in draw(st.lists(picks, max_size=3))
    ]
    return layered(zone, *draw(st.lists(layers(), min_size=1, max_size=3)), overrides=overrides)


instants = st.integers(0, int(WINDOW.total_seconds()) - 1).map(
    lambda seconds: WINDOW_START + timedelta(seconds=seconds)
)


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(), probes=st.lists(instants, min_size=1, max_size=10))
def test_shifts_tile_the_window_and_agree_with_every_instant(
    schedule: Schedule, probes: list[datetime]
) -> None:
    end = WINDOW_START + WINDOW
    found = shifts(schedule, WINDOW_START, end)
    assert found[0].start == WINDOW_START
    assert found[-1].end == end
    for before, after in pairwise(found):
        assert before.end == after.start
        assert (before.person, before.override) != (after.person, after.override)
    assert all(shift.start < shift.end for shift in found)
    for at in probes + [shift.start for shift in found]:
        [holder] = [shift for shift in found if shift.start <= at < shift.end]
        assert who_is_on_call(schedule, at) == holder.person


@settings(max_examples=60, deadline=None)
@given(
    schedule=schedules(),
    start=instants,
    hours=st.integers(1, 72),
    at=instants,
)
def test_an_override_range_is_exactly_its_persons(
    schedule: Schedule, start: datetime, hours: int, at: datetime
) -> None:
    cover = Cover("zoe", start, start + timedelta(hours=hours))
    found = shifts(schedule, WINDOW_START, WINDOW_START + WINDOW, [cover])
    end = min(cover.end, WINDOW_START + WINDOW)
    assert Shift("zoe", cover.start, end, override=True) in found
    inside = cover.start <= at < cover.end
    assert (who_is_on_call(schedule, at, [cover]) == "zoe") == inside


@settings(max_examples=40, deadline=None)
@given(schedule=schedules(), at=instants, viewer=st.sampled_from([*ZONES, "Asia/Kolkata"]))
def test_the_answer_is_the_same_whatever_the_viewers_zone(
    schedule: Schedule, at: datetime, viewer: str
) -> None:
    zone = ZoneInfo(viewer)
    assert who_is_on_call(schedule, at.astimezone(zone)) == who_is_on_call(schedule, at)
    start, end = at, at + timedelta(days=2)
    assert shifts(schedule, start.astimezone(zone), end.astimezone(zone)) == shifts(
        schedule, start, end
    )


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    below=st.lists(layers(), min_size=1, max_size=2),
    top=layers(),
    probes=st.lists(instants, min_size=1, max_size=20),
)
def test_a_layer_outside_its_restrictions_is_transparent(
    zone: str, below: list[dict[str, Any]], top: dict[str, Any], probes: list[datetime]
) -> None:
    schedule, stacked = layered(zone, *below), layered(zone, *below, top)
    for at in probes:
        if covering_layer(stacked, at) != len(below):
            assert who_is_on_call(stacked, at) == who_is_on_call(schedule, at)
