"""Weekly windows: inside or not, and the next start, across midnight and daylight saving."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.weekly import DAYS, WeeklyWindow, inside, next_start

OFFICE = WeeklyWindow(
    timezone="Europe/Berlin", days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00"
)
NIGHTS = WeeklyWindow(timezone="Europe/Berlin", days=["fri"], start="22:00", end="06:00")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "start"),
    [
        # Monday 2026-03-02, Berlin is UTC+1.
        ("2026-03-02T07:59", "2026-03-02T08:00"),  # before the day's start: today's
        ("2026-03-02T08:00", "2026-03-03T08:00"),  # at a start: the next one
        ("2026-03-02T12:00", "2026-03-03T08:00"),
        ("2026-03-06T16:30", "2026-03-09T08:00"),  # Friday evening: Monday
        ("2026-03-07T10:00", "2026-03-09T08:00"),  # Saturday
        # Summer time starts Sunday 2026-03-29: Monday's 09:00 is 07:00 UTC.
        ("2026-03-27T17:00", "2026-03-30T07:00"),
        # And ends Sunday 2026-10-25: Monday's 09:00 is 08:00 UTC again.
        ("2026-10-23T16:00", "2026-10-26T08:00"),
    ],
)
def test_next_start_of_office_hours(after: str, start: str) -> None:
    assert OFFICE.next_start(utc(after)) == utc(start)


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        ("2026-03-02T07:59", False),
        ("2026-03-02T08:00", True),
        ("2026-03-02T15:59", True),
        ("2026-03-02T16:00", False),
        ("2026-03-07T10:00", False),  # Saturday
        ("2026-03-30T07:00", True),  # summer time
        ("2026-03-30T15:00", False),
    ],
)
def test_inside_office_hours(now: str, open_: bool) -> None:
    assert inside([OFFICE], utc(now)) is open_


def test_a_night_window_runs_past_midnight_into_the_next_day() -> None:
    friday = utc("2026-03-06T21:00")  # 22:00 Friday in Berlin
    assert NIGHTS.next_start(utc("2026-03-06T12:00")) == friday
    assert inside([NIGHTS], utc("2026-03-07T04:59"))  # 05:59 Saturday
    assert not inside([NIGHTS], utc("2026-03-07T05:00"))
    assert NIGHTS.next_start(friday) == friday + timedelta(weeks=1)


def test_a_night_across_the_autumn_change_is_an_hour_longer() -> None:
    saturday = WeeklyWindow(timezone="Europe/Berlin", days=["sat"], start="22:00", end="06:00")
    start, end = next(saturday.occurrences(datetime(2026, 10, 24).date(), 1))
    assert (start, end) == (utc("2026-10-24T20:00"), utc("2026-10-25T05:00"))
    assert end - start == timedelta(hours=9)


def test_a_start_in_the_skipped_spring_hour_is_when_the_clock_would_show_it() -> None:
    early = WeeklyWindow(timezone="Europe/Berlin", days=["sun"], start="02:30", end="05:00")
    # 02:30 does not exist on 2026-03-29; read with the winter offset it is 03:30 summer time.
    assert early.next_start(utc("2026-03-28T12:00")) == utc("2026-03-29T01:30")
    assert inside([early], utc("2026-03-29T02:59"))
    assert not inside([early], utc("2026-03-29T03:00"))  # 05:00 summer time


def test_an_occurrence_daylight_saving_empties_is_skipped() -> None:
    # 02:30-03:00 on the spring Sunday ends (01:00 UTC) before it starts (01:30 UTC).
    blink = WeeklyWindow(timezone="Europe/Berlin", days=["sun"], start="02:30", end="03:00")
    assert blink.next_start(utc("2026-03-28T12:00")) == utc("2026-04-05T00:30")


def test_the_earliest_of_several_windows_starts_next() -> None:
    saturday = WeeklyWindow(timezone="UTC", days=["sat"], start="10:00", end="14:00")
    assert next_start([OFFICE, saturday], utc("2026-03-06T17:00")) == utc("2026-03-07T10:00")
    assert inside([OFFICE, saturday], utc("2026-03-07T11:00"))


WINDOWS = st.builds(
    WeeklyWindow,
    timezone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    start=st.sampled_from(["00:00", "01:30", "02:00", "02:30", "09:00", "17:45", "23:59"]),
    end=st.sampled_from(["00:00", "02:15", "03:00", "06:00", "17:00", "23:59"]),
)
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(WINDOWS, INSTANTS)
def test_the_next_start_is_inside_and_no_start_comes_before_it(
    window: WeeklyWindow, after: datetime
) -> None:
    start = window.next_start(after)

    assert start > after
    assert inside([window], start)
    first = after.date() - timedelta(days=2)
    earlier = [s for s, _ in window.occurrences(first, 20) if after < s < start]
    assert earlier == []
