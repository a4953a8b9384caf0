"""Shifts as an iCalendar (RFC 5545) feed, for calendar apps to subscribe to, and a
calendar file's events as a layer's shifts. Pure: the caller gives the shifts and the
instant the feed is made, or the file's bytes.

Each shift is one event whose UID is its schedule, person and start, so a calendar that
reads the feed again updates the events it has instead of adding copies; a shift still
under way at the window's end keeps its UID as the window moves and only its end changes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from schedules.models import CalendarShift

PRODID = "-//Tocsin//On-call shifts//EN"


@dataclass(frozen=True, slots=True)
class FeedShift:
    schedule: str
    person: str
    start: datetime
    end: datetime


def feed(
    title: str, found: Iterable[FeedShift], names: Mapping[str, str], made_at: datetime
) -> bytes:
    """The feed named ``title``; ``names``: people's names by id (the id where missing)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    for shift in found:
        event = Event()
        event.add("uid", uid(shift))
        event.add("dtstamp", made_at.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        event.add("summary", f"{names.get(shift.person, shift.person)} on call: {shift.schedule}")
        event.add("categories", [shift.schedule])
        calendar.add_component(event)
    written: bytes = calendar.to_ical()
    return written


def uid(shift: FeedShift) -> str:
    return f"{shift.schedule}/{shift.person}/{shift.start.astimezone(UTC):%Y%m%dT%H%M%SZ}@tocsin"


def read_events(data: bytes, zone: ZoneInfo) -> list[CalendarShift]:
    """The events of an iCalendar file as shifts, in file order: each event's summary is a
    person's id; all-day events and times without a zone are the schedule's ``zone``.
    ``ValueError`` says what cannot be read."""
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as error:
        raise ValueError(f"not an iCalendar file: {error}") from None
    found = []
    for number, event in enumerate(calendar.walk("VEVENT"), start=1):
        assert isinstance(event, Event)  # what walking for VEVENT gives
        summary = str(event.get("summary", "")).strip()
        where = f"event {number} ({summary or 'no summary'})"
        if not summary:
            raise ValueError(f"{where}: its summary must be the person's id")
        if "rrule" in event or "rdate" in event:
            raise ValueError(f"{where}: repeats; export the calendar with every occurrence")
        try:
            start, end = _instant(event.start, zone), _instant(event.end, zone)
        except (ValueError, TypeError, OverflowError) as error:
            raise ValueError(f"{where}: {error}") from None
        if end <= start:
            raise ValueError(f"{where}: does not end after it starts")
        found.append(CalendarShift(summary, start, end))
    return found


def _instant(value: date, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # all day: from the day's midnight
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
