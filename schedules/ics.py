"""Shifts as an iCalendar (RFC 5545) feed, for calendar apps to subscribe to. Pure: the
caller gives the shifts and the instant the feed is made.

Each shift is one event whose UID is its schedule, person and start, so a calendar that
reads the feed again updates the events it has instead of adding copies; a shift still
under way at the window's end keeps its UID as the window moves and only its end changes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

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
