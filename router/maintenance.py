"""Maintenance windows: recurring silences written in the configuration ("payments, Sundays
02:00-04:00 Europe/Berlin"). Pure: whether a window is open at an instant, and the silence
it stands for while it is.

Times are wall-clock times in the window's zone, read as schedules read them (fold=0 across
daylight-saving changes). An ``end`` at or before ``start`` closes the next day, so
``22:00``-``06:00`` on Fridays runs Friday night into Saturday morning.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.matchers import parse_matcher
from router.silences import Silence, SilenceMatcher

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    matchers: list[str] = Field(min_length=1)
    """As silences have them: ``service=payments``, ``env=~"prod.*"``."""
    timezone: str
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)
    start: str
    """``HH:MM`` local time."""
    end: str

    @field_validator("matchers")
    @classmethod
    def _parsed(cls, matchers: list[str]) -> list[str]:
        compiled = [parse_matcher(text) for text in matchers]  # MatcherError is a ValueError
        if all(matcher.matches({}) for matcher in compiled):
            raise ValueError("at least one matcher must not match the empty string")
        return matchers

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (for example Europe/Berlin)") from None
        return name

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, text: str) -> str:
        if not _CLOCK.match(text):
            raise ValueError(f"invalid time {text!r}: write HH:MM, for example 02:00")
        return text

    def open_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence covering ``now`` as UTC ``(start, end)``, or ``None``."""
        zone = ZoneInfo(self.timezone)
        today = now.astimezone(zone).date()
        for day in (today - timedelta(days=1), today):
            if DAYS[day.weekday()] not in self.days:
                continue
            start, end = self._occurrence(day, zone)
            if start <= now < end:
                return start, end
        return None

    def silence_at(self, now: datetime) -> Silence | None:
        """The silence the window stands for while it is open."""
        span = self.open_at(now)
        if span is None:
            return None
        return Silence(
            id=f"maintenance:{self.name}",
            matchers=[SilenceMatcher.of(parse_matcher(text)) for text in self.matchers],
            starts_at=span[0],
            ends_at=span[1],
            created_by="maintenance window",
            comment=f"maintenance window {self.name}",
        )

    def _occurrence(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start, end = _clock_time(self.start), _clock_time(self.end)
        end_day = day + timedelta(days=1) if end <= start else day
        return (
            datetime.combine(day, start, zone).astimezone(UTC),
            datetime.combine(end_day, end, zone).astimezone(UTC),
        )


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
