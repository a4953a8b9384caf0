"""Weekly windows: "Mondays to Fridays 09:00-17:00 Europe/Berlin". Pure: whether an instant is
inside one, and when the next one starts. Maintenance windows, support hours and the
restrictions of a schedule's layers (``WeeklyTimes``, in the schedule's zone) are all written
this way.

Times are wall-clock times in the window's zone, read as schedules read them (fold=0 across
daylight-saving changes): a start in the hour skipped in spring is the instant an hour-late
clock would show it, and a time that occurs twice in autumn is its first occurrence. An
``end`` at or before ``start`` closes the next day, so ``22:00``-``06:00`` on Fridays runs
Friday night into Saturday morning. An occurrence that daylight saving leaves empty (an end
in spring's skipped hour before the start) is skipped.
"""

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_LOOKAHEAD = 15
"""Local days searched for the next start: two weeks, as daylight saving can empty one
occurrence of a window that runs one day a week."""

Span = tuple[datetime, datetime]
"""One occurrence of a window as UTC ``(start, end)``."""


class WeeklyTimes(BaseModel):
    """Days and times of day, in a zone given by whatever holds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)
    start: str
    """``HH:MM`` local time."""
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, text: str) -> str:
        if not _CLOCK.match(text):
            raise ValueError(f"invalid time {text!r}: write HH:MM, for example 02:00")
        return text

    def occurrences_in(self, zone: ZoneInfo, first: date, days: int) -> Iterator[Span]:
        """The occurrences starting on ``days`` local days from ``first``, in order."""
        start_at, end_at = _clock_time(self.start), _clock_time(self.end)
        for offset in range(days):
            day = first + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            end_day = day + timedelta(days=1) if end_at <= start_at else day
            start = datetime.combine(day, start_at, zone).astimezone(UTC)
            end = datetime.combine(end_day, end_at, zone).astimezone(UTC)
            if start < end:
                yield start, end


class WeeklyWindow(WeeklyTimes):
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (for example Europe/Berlin)") from None
        return name

    def open_at(self, now: datetime) -> Span | None:
        """The occurrence covering ``now``, or ``None``."""
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        for start, end in self.occurrences(today - timedelta(days=1), days=2):
            if start <= now < end:
                return start, end
        return None

    def next_start(self, after: datetime) -> datetime:
        """The first start later than ``after``."""
        today = after.astimezone(ZoneInfo(self.timezone)).date()
        return next(start for start, _ in self.occurrences(today, _LOOKAHEAD) if start > after)

    def occurrences(self, first: date, days: int) -> Iterator[Span]:
        """The occurrences starting on ``days`` local days from ``first``, in order."""
        return self.occurrences_in(ZoneInfo(self.timezone), first, days)


def inside(windows: Sequence[WeeklyWindow], now: datetime) -> bool:
    return any(window.open_at(now) is not None for window in windows)


def next_start(windows: Sequence[WeeklyWindow], after: datetime) -> datetime:
    """The first start of any of ``windows`` later than ``after``; there must be one."""
    return min(window.next_start(after) for window in windows)


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
