"""Overrides: they beat the rotation, the last listed beats the others, times are local."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from schedules.models import Override, Schedule
from schedules.oncall import Shift, shifts, who_is_on_call

BERLIN = ZoneInfo("Europe/Berlin")


def make(*overrides: tuple[str, str, str]) -> Schedule:
    """Weekly alice/bob from Monday 5 January 2026, 09:00 Berlin, with (person, from, to)."""
    return Schedule.model_validate(
        {
            "name": "test",
            "timezone": "Europe/Berlin",
            "rotation": {"every": "1w", "handoff": "2026-01-05 09:00", "members": ["alice", "bob"]},
            "overrides": [{"person": p, "from": start, "to": end} for p, start, end in overrides],
        }
    )


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_an_override_wins_from_its_start_until_just_before_its_end() -> None:
    schedule = make(("carol", "2026-01-06 18:00", "2026-01-07 08:00"))
    assert who_is_on_call(schedule, local("2026-01-06 17:59")) == "alice"
    assert who_is_on_call(schedule, local("2026-01-06 18:00")) == "carol"
    assert who_is_on_call(schedule, local("2026-01-07 07:59")) == "carol"
    assert who_is_on_call(schedule, local("2026-01-07 08:00")) == "alice"


def test_override_times_are_read_in_the_schedule_zone() -> None:
    schedule = make(("bob", "2026-12-24 00:00", "2026-12-27 00:00"))
    window = shifts(schedule, utc("2026-12-23 00:00"), utc("2026-12-28 00:00"))
    assert window[1] == Shift("bob", utc("2026-12-23 23:00"), utc("2026-12-26 23:00"), True)


def test_shifts_mark_overrides_and_keep_them_apart_from_the_same_person_on_rotation() -> None:
    # alice is on rotation all week; an override for alice is still its own shift.
    schedule = make(("alice", "2026-01-07 00:00", "2026-01-08 00:00"))
    window = shifts(schedule, local("2026-01-06 00:00"), local("2026-01-09 00:00"))
    assert [(shift.person, shift.override) for shift in window] == [
        ("alice", False),
        ("alice", True),
        ("alice", False),
    ]
    assert window[1].start == local("2026-01-07 00:00")
    assert window[1].end == local("2026-01-08 00:00")


def test_where_overrides_overlap_the_last_listed_wins() -> None:
    carol = ("carol", "2026-01-06 00:00", "2026-01-08 00:00")
    dave = ("dave", "2026-01-07 00:00", "2026-01-09 00:00")
    at = local("2026-01-07 12:00")
    assert who_is_on_call(make(carol, dave), at) == "dave"
    assert who_is_on_call(make(dave, carol), at) == "carol"

    window = shifts(make(carol, dave), local("2026-01-06 00:00"), local("2026-01-10 00:00"))
    assert [(shift.person, shift.start, shift.end) for shift in window] == [
        ("carol", local("2026-01-06 00:00"), local("2026-01-07 00:00")),
        ("dave", local("2026-01-07 00:00"), local("2026-01-09 00:00")),
        ("alice", local("2026-01-09 00:00"), local("2026-01-10 00:00")),
    ]


def test_a_short_override_listed_after_a_long_one_punches_a_hole_in_it() -> None:
    holiday = ("carol", "2026-01-06 00:00", "2026-01-10 00:00")
    dentist = ("dave", "2026-01-07 10:00", "2026-01-07 12:00")
    window = shifts(make(holiday, dentist), local("2026-01-06 00:00"), local("2026-01-10 00:00"))
    assert [shift.person for shift in window] == ["carol", "dave", "carol"]
    assert all(shift.override for shift in window)
    # Listed the other way round, the long override hides the short one entirely.
    assert shifts(make(dentist, holiday), local("2026-01-06 00:00"), local("2026-01-10 00:00")) == [
        Shift("carol", local("2026-01-06 00:00"), local("2026-01-10 00:00"), True)
    ]


def test_an_override_over_a_handoff_hides_the_handoff() -> None:
    # The handoff to bob is Monday 12 January 09:00; carol covers Sunday to Tuesday.
    schedule = make(("carol", "2026-01-11 00:00", "2026-01-13 00:00"))
    window = shifts(schedule, local("2026-01-10 00:00"), local("2026-01-14 00:00"))
    assert [(shift.person, shift.override) for shift in window] == [
        ("alice", False),
        ("carol", True),
        ("bob", False),
    ]


def test_overrides_are_clipped_to_the_window_and_ignored_outside_it() -> None:
    schedule = make(
        ("carol", "2026-01-01 00:00", "2026-01-06 12:00"),
        ("dave", "2026-02-01 00:00", "2026-02-02 00:00"),
    )
    window = shifts(schedule, local("2026-01-06 00:00"), local("2026-01-07 00:00"))
    assert window == [
        Shift("carol", local("2026-01-06 00:00"), local("2026-01-06 12:00"), True),
        Shift("alice", local("2026-01-06 12:00"), local("2026-01-07 00:00"), False),
    ]


def test_an_override_across_the_spring_change_lasts_the_real_hours() -> None:
    schedule = make(("carol", "2026-03-28 22:00", "2026-03-29 06:00"))
    [_, override, _] = shifts(schedule, local("2026-03-28 00:00"), local("2026-03-30 00:00"))
    assert (override.person, override.start, override.end) == (
        "carol",
        utc("2026-03-28 21:00"),
        utc("2026-03-29 04:00"),
    )
    assert override.end - override.start == timedelta(hours=7)


def test_override_fields_are_written_from_and_to() -> None:
    override = Override.model_validate(
        {"person": "bob", "from": "2026-12-24 00:00", "to": "2026-12-27 00:00"}
    )
    assert override.start == datetime(2026, 12, 24)
    assert override.end == datetime(2026, 12, 27)
    assert override.model_dump(by_alias=True) == {
        "person": "bob",
        "from": "2026-12-24 00:00",
        "to": "2026-12-27 00:00",
    }
    assert Override(person="bob", start=datetime(2026, 12, 24), end=datetime(2026, 12, 27)) == (
        override
    )


@pytest.mark.parametrize("end", ["2026-12-24 00:00", "2026-12-23 23:59"])
def test_an_override_must_end_after_it_starts(end: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Override.model_validate({"person": "bob", "from": "2026-12-24 00:00", "to": end})
    [error] = caught.value.errors()
    assert error["loc"] == ("to",)
    assert f"'to' ({end}) must be after 'from' (2026-12-24 00:00)" in error["msg"]


@pytest.mark.parametrize(
    "written", ["2026-12-24", "2026-12-24T00:00+01:00", "24.12.2026 00:00", "yesterday"]
)
def test_override_times_must_be_written_as_local_date_and_time(written: str) -> None:
    with pytest.raises(ValidationError, match="write 'YYYY-MM-DD HH:MM'"):
        Override.model_validate({"person": "bob", "from": written, "to": "2026-12-27 00:00"})


def test_aware_datetimes_from_code_are_refused() -> None:
    with pytest.raises(ValidationError, match="invalid local time"):
        Override(
            person="bob",
            start=datetime(2026, 12, 24, tzinfo=UTC),
            end=datetime(2026, 12, 27),
        )
