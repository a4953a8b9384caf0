"""Overrides kept outside the schedule files (added from the command line or the API), and
the checks one passes before it is stored. Pure: the caller gives ``now`` and the people."""

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schedules.oncall import Cover, Shift

MAX_LENGTH = timedelta(days=90)
"""Longer than any holiday swap; a longer change belongs in the schedule's file, reviewed."""
MAX_NOTE = 500


class OverrideRefused(ValueError):
    """An override that cannot be stored, saying why."""


class StoredOverride(BaseModel):
    """``person`` is on call for ``schedule`` over ``[start, end)``; on top of the file's
    overrides, the latest created on top of the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    schedule: str
    person: str
    start: AwareDatetime
    end: AwareDatetime
    note: str = Field(default="", max_length=MAX_NOTE)
    created_at: AwareDatetime
    created_by: str = ""

    def cover(self) -> Cover:
        return Cover(self.person, self.start, self.end)


def read_time(text: str, zone: ZoneInfo, name: str) -> datetime:
    """An ISO time; one without an offset is read in the schedule's zone, as its file is."""
    try:
        parsed = datetime.fromisoformat(text.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: at the calendar's very ends
        raise OverrideRefused(
            f"{name} {text!r}: write an ISO time such as 2026-12-24T09:00 (the schedule's zone) "
            "or 2026-12-24T09:00+01:00"
        ) from None


def checked(override: StoredOverride, people: Collection[str], now: datetime) -> StoredOverride:
    """``override`` if it can be stored at ``now``; ``OverrideRefused`` naming the problem."""
    if override.person not in people:
        raise OverrideRefused(f"person {override.person!r}: not in people")
    if override.end <= override.start:
        raise OverrideRefused(
            f"'to' ({override.end:%Y-%m-%d %H:%M %Z}) must be after "
            f"'from' ({override.start:%Y-%m-%d %H:%M %Z})"
        )
    if override.end <= now:
        raise OverrideRefused(f"'to' ({override.end:%Y-%m-%d %H:%M %Z}) is already past")
    if override.end - override.start > MAX_LENGTH:
        raise OverrideRefused(
            f"an override lasts at most {MAX_LENGTH.days} days; change the schedule's file "
            "for longer"
        )
    return override


def covers(stored: Sequence[StoredOverride]) -> list[Cover]:
    """As covers for ``schedules.oncall``, the latest created last, so it wins."""
    return [o.cover() for o in sorted(stored, key=lambda o: (o.created_at, o.id))]


def from_store(shift: Shift, stored: Sequence[Cover]) -> bool:
    """Whether an override kept in the store (not the schedule's file) made ``shift``."""
    # Stored overrides lie above the file's, so one of the shift's person covering its
    # start is the one that made the shift.
    return shift.override and any(
        c.person == shift.person and c.start <= shift.start < c.end for c in stored
    )
