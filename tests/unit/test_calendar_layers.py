"""A layer whose shifts come from an iCalendar file: its events read (all-day, floating,
zoned), resolved on top of a rotation, loaded beside the schedule file, and every way the
file can be wrong named at the layer's ``calendar`` line."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schedules.ics import FeedShift, feed, read_events
from schedules.loader import load_schedules
from schedules.models import CalendarShift, Schedule
from schedules.oncall import shifts, who_is_on_call
from schedules.yamlfile import ConfigFileError

BERLIN = ZoneInfo("Europe/Berlin")


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n".encode()


NIGHT = "UID:1\r\nSUMMARY:carol\r\nDTSTART:20260302T180000Z\r\nDTEND:20260303T060000Z"
ALL_DAY = "UID:2\r\nSUMMARY: dave \r\nDTSTART;VALUE=DATE:20260304\r\nDTEND;VALUE=DATE:20260305"
FLOATING = "UID:3\r\nSUMMARY:carol\r\nDTSTART:20260306T090000\r\nDURATION:PT2H"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_events_are_read_in_the_schedules_zone_when_they_have_none() -> None:
    assert read_events(ics(NIGHT, ALL_DAY, FLOATING), BERLIN) == [
        CalendarShift("carol", utc(2026, 3, 2, 18), utc(2026, 3, 3, 6)),
        CalendarShift("dave", utc(2026, 3, 3, 23), utc(2026, 3, 4, 23)),  # Berlin's day
        CalendarShift("carol", utc(2026, 3, 6, 8), utc(2026, 3, 6, 10)),
    ]


def test_a_feed_reads_back_as_the_shifts_it_was_made_from() -> None:
    made = [FeedShift("s", "carol", utc(2026, 3, 2, 18), utc(2026, 3, 3, 6))]
    written = feed("On call: s", made, {"carol": "Carol"}, utc(2026, 3, 1))
    (event,) = read_events(written.replace(b"Carol on call: s", b"carol"), BERLIN)
    assert event == CalendarShift("carol", utc(2026, 3, 2, 18), utc(2026, 3, 3, 6))


WRONG = {
    "not a calendar": (b"hello", "not an iCalendar file"),
    "no summary": (ics("UID:1\r\nDTSTART:20260302T180000Z\r\nDTEND:20260303T060000Z"),
                   "event 1 (no summary): its summary must be the person's id"),
    "repeats": (ics(NIGHT + "\r\nRRULE:FREQ=WEEKLY"),
                "event 1 (carol): repeats; export the calendar with every occurrence"),
    "no start": (ics("UID:1\r\nSUMMARY:carol"), "event 1 (carol): No DTSTART given"),
    "backwards": (ics("UID:1\r\nSUMMARY:carol\r\nDTSTART:20260302T180000Z\r\n"
                      "DTEND:20260302T170000Z"),
                  "event 1 (carol): does not end after it starts"),
}  # fmt: skip


@pytest.mark.parametrize(("data", "message"), WRONG.values(), ids=WRONG)
def test_a_calendar_that_cannot_be_read_says_why(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        read_events(data, BERLIN)


def nights(events: list[CalendarShift]) -> Schedule:
    schedule = Schedule.model_validate(
        {
            "name": "s",
            "timezone": "Europe/Berlin",
            "layers": [
                {"every": "1w", "handoff": "2026-01-05 09:00", "members": ["alice"]},
                {"name": "nights", "calendar": "nights.ics"},
            ],
        }
    )
    return schedule.with_events([[], events])


def test_a_calendar_layer_answers_during_its_events_only() -> None:
    schedule = nights(read_events(ics(NIGHT), BERLIN))

    assert who_is_on_call(schedule, utc(2026, 3, 2, 17)) == "alice"
    assert who_is_on_call(schedule, utc(2026, 3, 2, 18)) == "carol"
    assert who_is_on_call(schedule, utc(2026, 3, 3, 6)) == "alice"
    assert [
        (s.person, s.start, s.end) for s in shifts(schedule, utc(2026, 3, 2), utc(2026, 3, 4))
    ] == [
        ("alice", utc(2026, 3, 2), utc(2026, 3, 2, 18)),
        ("carol", utc(2026, 3, 2, 18), utc(2026, 3, 3, 6)),
        ("alice", utc(2026, 3, 3, 6), utc(2026, 3, 4)),
    ]
    assert schedule.people == {"alice", "carol"}


def test_groups_expanded_keep_the_calendars_events() -> None:
    schedule = nights(read_events(ics(NIGHT), BERLIN)).with_groups({})
    assert who_is_on_call(schedule, utc(2026, 3, 2, 20)) == "carol"


LAYER_PROBLEMS = {
    "both": ({"calendar": "x.ics", "members": ["bob"]}, "write calendar or members, not both"),
    "neither": ({"every": "1w"}, "missing handoff, members: a layer is a rotation"),
}


@pytest.mark.parametrize(("layer", "message"), LAYER_PROBLEMS.values(), ids=LAYER_PROBLEMS)
def test_a_layer_is_a_rotation_or_a_calendar(layer: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule.model_validate({"name": "s", "timezone": "UTC", "layers": [layer]})


SCHEDULE = """\
name: support
timezone: Europe/Berlin
layers:
  - {every: 1w, handoff: "2026-01-05 09:00", members: [alice]}
  - name: nights
    calendar: nights.ics
"""


def test_a_calendar_file_beside_the_schedule_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "support.yaml").write_text(SCHEDULE)
    (tmp_path / "nights.ics").write_bytes(ics(NIGHT))

    schedule = load_schedules(tmp_path)["support"]

    assert who_is_on_call(schedule, utc(2026, 3, 2, 20)) == "carol"


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ("missing.ics", "layers[1].calendar: cannot read {dir}/missing.ics: No such file"),
        ("../nights.ics", "layers[1].calendar: '../nights.ics': name a file inside the schedules"),
        ("broken.ics", "layers[1].calendar: {dir}/broken.ics: not an iCalendar file"),
    ],
)
def test_a_calendar_file_that_cannot_be_used_is_named_at_its_line(
    tmp_path: Path, calendar: str, message: str
) -> None:
    (tmp_path / "support.yaml").write_text(SCHEDULE.replace("nights.ics", calendar))
    (tmp_path / "broken.ics").write_bytes(b"BEGIN:VCALENDAR\r\nnonsense")

    with pytest.raises(ConfigFileError) as caught:
        load_schedules(tmp_path)

    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{tmp_path}/support.yaml:6: {message.format(dir=tmp_path)}")
