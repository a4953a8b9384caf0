"""Rotation math: who holds which turn, before and after the handoff and across DST changes."""

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.models import Schedule
from schedules.oncall import Shift, shifts, who_is_on_call

BERLIN = ZoneInfo("Europe/Berlin")
MEMBERS = ["alice", "bob", "carol"]
TICK = timedelta(microseconds=1)


def make(
    every: str, handoff: str, members: list[str] = MEMBERS, timezone: str = "Europe/Berlin"
) -> Schedule:
    rotation = {"every": every, "handoff": handoff, "members": members}
    return Schedule.model_validate({"name": "test", "timezone": timezone, "rotation": rotation})


def local(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)


def utc(text: str) -> datetime:
    return local(text, ZoneInfo("UTC")).astimezone(UTC)


def handoffs(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The instants inside the window where the person on call changes."""
    return [shift.start for shift in shifts(schedule, start, end)[1:]]


WEEKLY = make("1w", "2026-01-05 09:00")  # a Monday


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-01-05 09:00", "alice"),
        ("2026-01-12 08:59", "alice"),
        ("2026-01-12 09:00", "bob"),
        ("2026-01-19 09:00", "carol"),
        ("2026-01-26 09:00", "alice"),
        ("2026-06-01 09:00", "alice"),  # turn 21
    ],
)
def test_weekly_rotation_hands_off_every_monday_at_nine(when: str, expected: str) -> None:
    assert who_is_on_call(WEEKLY, local(when)) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-01-05 08:59", "carol"),  # turn -1
        ("2025-12-29 09:00", "carol"),
        ("2025-12-29 08:59", "bob"),  # turn -2
        ("2025-12-15 09:00", "alice"),  # turn -3
        ("2024-12-30 09:00", "bob"),  # turn -53, and -53 % 3 == 1
    ],
)
def test_before_the_handoff_the_rotation_runs_backwards(when: str, expected: str) -> None:
    assert who_is_on_call(WEEKLY, local(when)) == expected


def test_daily_rotation_hands_off_at_the_handoff_time() -> None:
    schedule = make("1d", "2026-02-01 18:00", ["alice", "bob"], timezone="UTC")
    window = shifts(schedule, utc("2026-02-01 12:00"), utc("2026-02-04 12:00"))
    assert [(shift.person, shift.start, shift.end) for shift in window] == [
        ("bob", utc("2026-02-01 12:00"), utc("2026-02-01 18:00")),
        ("alice", utc("2026-02-01 18:00"), utc("2026-02-02 18:00")),
        ("bob", utc("2026-02-02 18:00"), utc("2026-02-03 18:00")),
        ("alice", utc("2026-02-03 18:00"), utc("2026-02-04 12:00")),
    ]
    assert not any(shift.override for shift in window)


def test_hourly_rotation() -> None:
    schedule = make("8h", "2026-02-01 06:00", timezone="UTC")
    assert who_is_on_call(schedule, utc("2026-02-01 13:59")) == "alice"
    assert who_is_on_call(schedule, utc("2026-02-01 14:00")) == "bob"
    assert who_is_on_call(schedule, utc("2026-02-01 22:00")) == "carol"
    assert who_is_on_call(schedule, utc("2026-02-02 06:00")) == "alice"
    assert who_is_on_call(schedule, utc("2026-02-01 05:59")) == "carol"


def test_the_time_zone_of_the_question_does_not_matter() -> None:
    instant = local("2026-01-12 09:00")
    assert who_is_on_call(WEEKLY, instant.astimezone(UTC)) == "bob"
    assert who_is_on_call(WEEKLY, instant.astimezone(ZoneInfo("Asia/Tokyo"))) == "bob"
    assert who_is_on_call(WEEKLY, (instant - timedelta(seconds=1)).astimezone(UTC)) == "alice"


def test_a_single_member_is_one_shift_however_long_the_window() -> None:
    schedule = make("1d", "2026-01-01 09:00", ["alice"])
    start, end = utc("2026-01-01 00:00"), utc("2026-03-01 00:00")
    assert shifts(schedule, start, end) == [Shift("alice", start, end, override=False)]


# 2026 in Berlin: clocks go forward on Sunday 29 March (02:00 -> 03:00) and back on
# Sunday 25 October (03:00 -> 02:00).


def test_weekly_handoff_stays_at_nine_local_when_clocks_go_forward() -> None:
    changes = handoffs(WEEKLY, local("2026-03-20 00:00"), local("2026-04-03 00:00"))
    assert changes == [utc("2026-03-23 08:00"), utc("2026-03-30 07:00")]
    assert [change.astimezone(BERLIN).hour for change in changes] == [9, 9]
    assert changes[1] - changes[0] == timedelta(hours=167)


def test_weekly_handoff_stays_at_nine_local_when_clocks_go_back() -> None:
    changes = handoffs(WEEKLY, local("2026-10-16 00:00"), local("2026-10-30 00:00"))
    assert changes == [utc("2026-10-19 07:00"), utc("2026-10-26 08:00")]
    assert [change.astimezone(BERLIN).hour for change in changes] == [9, 9]
    assert changes[1] - changes[0] == timedelta(hours=169)


def test_daily_turn_on_the_spring_day_lasts_23_hours() -> None:
    schedule = make("1d", "2026-03-01 09:00", ["alice", "bob"])
    changes = handoffs(schedule, local("2026-03-28 00:00"), local("2026-03-31 00:00"))
    assert [change.astimezone(BERLIN).hour for change in changes] == [9, 9, 9]
    assert [b - a for a, b in pairwise(changes)] == [
        timedelta(hours=23),
        timedelta(hours=24),
    ]


def test_24h_counts_as_a_whole_day_and_follows_the_wall_clock() -> None:
    as_hours, as_day = make("24h", "2026-03-01 09:00"), make("1d", "2026-03-01 09:00")
    start, end = local("2026-03-27 00:00"), local("2026-04-02 00:00")
    assert shifts(as_hours, start, end) == shifts(as_day, start, end)


@pytest.mark.parametrize(
    ("handoff", "when", "expected"),
    [
        # Spring: 00:00 CET, then 01:00 CET, 03:00 CEST, 04:00 CEST: three real hours,
        # four on the wall clock.
        ("2026-03-29 00:00", "2026-03-29 04:00", "alice"),
        ("2026-03-29 00:00", "2026-03-29 03:59", "carol"),
        # Autumn: 00:00 CEST to 04:00 CET is five real hours.
        ("2026-10-25 00:00", "2026-10-25 04:00", "carol"),
        ("2026-10-25 00:00", "2026-10-25 03:59", "bob"),
    ],
)
def test_hourly_rotation_counts_real_hours_across_dst(
    handoff: str, when: str, expected: str
) -> None:
    assert who_is_on_call(make("1h", handoff), local(when)) == expected


def test_handoff_in_the_spring_gap_happens_as_much_later_as_the_clocks_jump() -> None:
    schedule = make("1d", "2026-03-27 02:30", ["alice", "bob"])
    changes = handoffs(schedule, local("2026-03-28 12:00"), local("2026-03-30 12:00"))
    # 02:30 does not exist on the 29th; read with the winter offset it is 03:30 CEST.
    assert changes == [utc("2026-03-29 01:30"), utc("2026-03-30 00:30")]


def test_handoff_in_the_autumn_fold_happens_at_the_first_occurrence() -> None:
    schedule = make("1d", "2026-10-23 02:30", ["alice", "bob"])
    changes = handoffs(schedule, local("2026-10-24 12:00"), local("2026-10-26 12:00"))
    # 02:30 happens twice on the 25th: 00:30 UTC (summer time) and 01:30 UTC.
    assert changes == [utc("2026-10-25 00:30"), utc("2026-10-26 01:30")]


def test_in_the_spring_gap_the_old_turn_lasts_until_the_late_handoff() -> None:
    schedule = make("1d", "2026-03-27 02:30", ["alice", "bob"])
    assert who_is_on_call(schedule, local("2026-03-29 03:29")) == "bob"
    assert who_is_on_call(schedule, local("2026-03-29 03:30")) == "alice"


def test_in_the_autumn_fold_the_second_occurrence_is_after_the_handoff() -> None:
    schedule = make("1d", "2026-10-23 02:30", ["alice", "bob"])
    first_0215 = local("2026-10-25 02:15")
    second_0215 = first_0215.replace(fold=1)
    assert second_0215.astimezone(UTC) == utc("2026-10-25 01:15")
    assert who_is_on_call(schedule, first_0215) == "bob"
    assert who_is_on_call(schedule, second_0215) == "alice"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="at must be a timezone-aware datetime"):
        who_is_on_call(WEEKLY, datetime(2026, 1, 5, 9, 0))
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        shifts(WEEKLY, datetime(2026, 1, 5, 9, 0), utc("2026-01-06 00:00"))


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="must be after start"):
        shifts(WEEKLY, utc("2026-01-06 00:00"), utc("2026-01-06 00:00"))


def test_a_year_in_berlin_step_by_step_agrees_with_the_shifts() -> None:
    schedule = make("1w", "2026-01-05 09:00")
    start, end = utc("2026-01-01 00:00"), utc("2027-01-01 00:00")
    year = shifts(schedule, start, end)
    assert len(year) == 53  # 2026 has 52 Mondays, so 52 handoffs
    step, index, at = timedelta(minutes=15), 0, start
    while at < end:
        while year[index].end <= at:
            index += 1
        assert who_is_on_call(schedule, at) == year[index].person
        at += step
    for shift in year[1:]:
        assert shift.start.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 09:00"


# Invariants over random schedules, zones and windows.

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
PEOPLE = ["alice", "bob", "carol", "dave"]
EVERY = st.one_of(
    st.integers(min_value=15, max_value=600).map(lambda n: f"{n}m"),
    st.integers(min_value=1, max_value=72).map(lambda n: f"{n}h"),
    st.integers(min_value=1, max_value=10).map(lambda n: f"{n}d"),
    st.integers(min_value=1, max_value=3).map(lambda n: f"{n}w"),
)
WALL_TIMES = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda when: when.strftime("%Y-%m-%d %H:%M")
)
# 2026's clock changes, all between 02:00 and 03:00 local; Lord Howe moves by 30 minutes.
DST_CHANGES = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
}


@st.composite
def overrides(draw: st.DrawFn, near: datetime) -> dict[str, str]:
    start = near + draw(st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=20)))
    length = draw(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5)))
    return {
        "person": draw(st.sampled_from(PEOPLE)),
        "from": start.strftime("%Y-%m-%d %H:%M"),
        "to": (start + length).strftime("%Y-%m-%d %H:%M"),
    }


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A schedule and a window of up to two weeks, with overrides near the window."""
    start = draw(
        st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1))
    ).replace(tzinfo=UTC)
    length = draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=14)))
    near = start.replace(tzinfo=None)
    schedule = Schedule.model_validate(
        {
            "name": "random",
            "timezone": draw(st.sampled_from(ZONES)),
            "rotation": {
                "every": draw(EVERY),
                "handoff": draw(WALL_TIMES),
                "members": draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
            },
            "overrides": draw(st.lists(overrides(near), max_size=4)),
        }
    )
    return schedule, start, start + length


@st.composite
def dst_scenarios(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A rotation handed off around the hour a DST change skips or repeats, seen around it."""
    timezone = draw(st.sampled_from(sorted(DST_CHANGES)))
    day = draw(st.sampled_from(DST_CHANGES[timezone]))
    minute = draw(st.integers(min_value=60, max_value=4 * 60 - 1))
    handoff = datetime.combine(day, time()) + timedelta(minutes=minute)
    # In UTC: arithmetic on datetimes in a zone is wall-clock arithmetic, and a datetime
    # inside a repeated hour compares unequal to every instant in another zone (PEP 495).
    midnight = datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)
    start = midnight - draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)))
    length = draw(st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=4)))
    schedule = Schedule.model_validate(
        {
            "name": "dst",
            "timezone": timezone,
            "rotation": {
                "every": draw(st.sampled_from(["1d", "2d", "1w", "1h", "90m"])),
                "handoff": handoff.strftime("%Y-%m-%d %H:%M"),
                "members": ["alice", "bob"],
            },
        }
    )
    return schedule, start, start + length


def assert_consistent(
    schedule: Schedule, start: datetime, end: datetime, data: st.DataObject
) -> None:
    window = shifts(schedule, start, end)

    # Contiguous, ordered, and each a real change from the one before.
    assert window[0].start == start
    assert window[-1].end == end
    for shift, following in pairwise(window):
        assert shift.end == following.start
        assert (shift.person, shift.override) != (following.person, following.override)
    for shift in window:
        assert shift.start < shift.end
        assert shift.start.tzinfo is UTC
        assert shift.end.tzinfo is UTC
        # The person is the same from the first instant of a shift to its last.
        assert who_is_on_call(schedule, shift.start) == shift.person
        assert who_is_on_call(schedule, shift.end - TICK) == shift.person

    # Any instant is in exactly one shift, whose person is the one on call then.
    offsets = st.timedeltas(min_value=timedelta(0), max_value=end - start - TICK)
    for offset in data.draw(st.lists(offsets, min_size=1, max_size=20)):
        at = start + offset
        [containing] = [shift for shift in window if shift.start <= at < shift.end]
        assert who_is_on_call(schedule, at) == containing.person


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.data())
def test_shifts_cover_the_window_and_agree_with_who_is_on_call(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    assert_consistent(*scenario, data)


@settings(max_examples=300, deadline=None)
@given(dst_scenarios(), st.data())
def test_shifts_and_who_is_on_call_agree_around_dst_changes(
    scenario: tuple[Schedule, datetime, datetime], data: st.DataObject
) -> None:
    assert_consistent(*scenario, data)
    # Every quarter hour too: the repeated and the skipped hour are where wall-clock
    # counting goes wrong, and random instants rarely land there.
    schedule, start, end = scenario
    window = shifts(schedule, start, end)
    starts = [shift.start for shift in window]
    at = start
    while at < end:
        assert who_is_on_call(schedule, at) == window[bisect_right(starts, at) - 1].person
        at += timedelta(minutes=15)


@settings(deadline=None)
@given(st.one_of(scenarios(), dst_scenarios()))
def test_rotation_handoffs_keep_their_rhythm(scenario: tuple[Schedule, datetime, datetime]) -> None:
    schedule, start, end = scenario
    schedule = schedule.model_copy(update={"overrides": []})
    rotation, zone = schedule.rotation, schedule.zone
    for change in handoffs(schedule, start, end):
        if rotation.every % timedelta(days=1):
            # Real time: a whole number of turns after the handoff instant.
            since = change - rotation.handoff.replace(tzinfo=zone).astimezone(UTC)
            assert since % rotation.every == timedelta(0)
        else:
            # Wall clock: a whole number of turns after the handoff's local time, read with
            # fold=0 (a skipped time lands later by the jump, so flooring finds its turn).
            wall = change.astimezone(zone).replace(tzinfo=None)
            nominal = (
                rotation.handoff + (wall - rotation.handoff) // rotation.every * rotation.every
            )
            assert nominal.replace(tzinfo=zone).astimezone(UTC) == change
