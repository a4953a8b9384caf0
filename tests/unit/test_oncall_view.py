"""What the on-call page and API show, from the pure resolver: a schedule's shifts tile the
range asked for and say which overrides came from the store; a person's shifts are exactly
theirs in every schedule; a shift longer than the look-ahead has no ``until``; and how a
request's range is read."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.config import EscalationPolicy, Level, Person, Target
from notifier.directory import Directory
from schedules.models import Rotation, Schedule
from schedules.oncall import Cover
from tocsin.oncall_api import MAX_RANGE, BadRange, shift_range
from tocsin.oncall_view import AHEAD, on_call_now, person_shifts, schedule_shifts

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NAMES = ("alice", "bob", "carol")
PEOPLE = {n: Person(name=n.title()) for n in NAMES}


def rotation(name: str, every: timedelta, members: list[str]) -> Schedule:
    return Schedule(
        name=name,
        timezone="Europe/Berlin",
        rotation=Rotation(every=every, handoff=datetime(2026, 1, 5, 9, 0), members=members),
    )


DAILY = rotation("daily", timedelta(days=1), ["alice", "bob", "carol"])
WEEKLY = rotation("weekly", timedelta(weeks=1), ["carol", "alice"])
DIRECTORY = Directory(people=PEOPLE, schedules={"daily": DAILY, "weekly": WEEKLY})

covers = st.lists(
    st.builds(
        lambda person, start, hours: Cover(
            person, NOW + timedelta(hours=start), NOW + timedelta(hours=start + hours)
        ),
        st.sampled_from(NAMES),
        st.integers(-48, 24 * 20),
        st.integers(1, 72),
    ),
    max_size=4,
)
spans = st.tuples(st.integers(-24 * 7, 24 * 7), st.integers(1, 24 * 30))


@given(stored=covers, span=spans)
def test_a_schedules_shifts_tile_the_range_and_name_the_stored_ones(
    stored: list[Cover], span: tuple[int, int]
) -> None:
    since = NOW + timedelta(hours=span[0])
    until = since + timedelta(hours=span[1])

    found = schedule_shifts(DIRECTORY, DAILY, since, until, {"daily": stored})

    assert found[0].start == since
    assert found[-1].end == until
    assert all(a.end == b.start for a, b in pairwise(found))
    for shift in found:
        assert shift.name == PEOPLE[shift.person or ""].name
        assert shift.stored_override <= shift.override
        if shift.stored_override:
            assert any(c.person == shift.person and c.start <= shift.start < c.end for c in stored)
        else:
            assert not any(c.start <= shift.start < c.end for c in stored)


@given(stored=covers, span=spans, person=st.sampled_from(NAMES))
def test_a_persons_shifts_are_theirs_in_every_schedule(
    stored: list[Cover], span: tuple[int, int], person: str
) -> None:
    since = NOW + timedelta(hours=span[0])
    until = since + timedelta(hours=span[1])
    by_schedule = {"weekly": stored}

    found = person_shifts(DIRECTORY, person, since, until, by_schedule)

    expected = sorted(
        (name, shift.start, shift.end, shift.stored_override)
        for name, schedule in DIRECTORY.schedules.items()
        for shift in schedule_shifts(DIRECTORY, schedule, since, until, by_schedule)
        if shift.person == person
    )
    assert sorted((s.schedule, s.start, s.end, s.stored_override) for s in found) == expected
    assert [s.start for s in found] == sorted(s.start for s in found)


def test_a_shift_past_the_look_ahead_has_no_until() -> None:
    alone = rotation("alone", timedelta(weeks=4), ["bob"])
    level = Level(targets=[Target(kind="schedule", name="alone")], ack_timeout=timedelta(minutes=5))
    directory = Directory(
        people=PEOPLE,
        schedules={"alone": alone},
        policies={"p": EscalationPolicy(levels=[level])},
    )

    now = on_call_now(directory, NOW, {})

    (schedule,) = now.schedules
    assert schedule.current.person == "bob"
    assert schedule.current.end == NOW + AHEAD
    assert (schedule.until, schedule.next) == (None, [])
    assert [p.id for p in now.policies[0].levels[0].pages_now] == ["bob"]


def test_a_range_defaults_to_two_weeks_from_now_and_reads_no_offset_as_utc() -> None:
    assert shift_range(None, None, NOW) == (NOW, NOW + AHEAD)
    since = datetime(2026, 3, 10, tzinfo=UTC)
    assert shift_range("2026-03-10", None, NOW) == (since, since + AHEAD)
    assert shift_range("2026-03-10T01:00+01:00", "2026-03-11", NOW) == (
        since,
        since + timedelta(days=1),
    )
    assert shift_range(None, (NOW + MAX_RANGE).isoformat(), NOW) == (NOW, NOW + MAX_RANGE)


@pytest.mark.parametrize(
    ("since", "until", "error"),
    [
        ("2026-03-10 oops", None, "since: invalid time"),
        (None, "soon", "until: invalid time"),
        (None, "2026-03-02T12:00Z", "since must be before until"),
        (None, "2026-06-01", "the range is longer than 90 days: ask for less"),
        ("2300-01-01", None, "since: ask for a time from 1970 to 2200"),
    ],
)
def test_a_range_asked_wrong_names_its_parameter(
    since: str | None, until: str | None, error: str
) -> None:
    with pytest.raises(BadRange, match=error):
        shift_range(since, until, NOW)
