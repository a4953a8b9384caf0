"""How an edit of the schedules changes who is on call: the shifts of the old and the new
files over the same window, compared. Pure: the caller gives the window.

A shift the same in both (person, start, end) is no change, whether it comes from a layer or
an override. One whose span is the same but whose person is not is *changed*; any other old
shift is *removed* and any other new one *added*. Gaps are not shifts: a shift turned into a
gap shows as removed, a gap filled as added.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schedules.models import Schedule
from schedules.oncall import holders


class Kind(StrEnum):
    REMOVED = "removed"
    CHANGED = "changed"
    ADDED = "added"


_ORDER = {kind: index for index, kind in enumerate(Kind)}


@dataclass(frozen=True, slots=True)
class ShiftChange:
    kind: Kind
    start: datetime
    end: datetime
    old: str | None
    """Who was on call (``None`` for an added shift)."""
    new: str | None
    """Who is on call (``None`` for a removed shift)."""


def schedule_changes(
    old: Schedule | None, new: Schedule | None, start: datetime, end: datetime
) -> list[ShiftChange]:
    """The changes in ``[start, end)``, in time order (at one instant, removed, changed,
    added). ``None``: the schedule is not in that side's files."""
    before = _spans(old, start, end)
    after = _spans(new, start, end)
    found = [
        ShiftChange(Kind.CHANGED, s, e, person, after[s, e])
        for (s, e), person in before.items()
        if (s, e) in after and after[s, e] != person
    ]
    found += [
        ShiftChange(Kind.REMOVED, s, e, person, None)
        for (s, e), person in before.items()
        if (s, e) not in after
    ]
    found += [
        ShiftChange(Kind.ADDED, s, e, None, person)
        for (s, e), person in after.items()
        if (s, e) not in before
    ]
    return sorted(found, key=lambda c: (c.start, _ORDER[c.kind]))


def changes(
    old: Mapping[str, Schedule], new: Mapping[str, Schedule], start: datetime, end: datetime
) -> dict[str, list[ShiftChange]]:
    """Every schedule's changes by name, in name order; schedules without any left out."""
    found = {
        name: schedule_changes(old.get(name), new.get(name), start, end)
        for name in sorted({*old, *new})
    }
    return {name: listed for name, listed in found.items() if listed}


def _spans(
    schedule: Schedule | None, start: datetime, end: datetime
) -> dict[tuple[datetime, datetime], str | None]:
    if schedule is None:
        return {}
    return {(s.start, s.end): s.person for s in holders(schedule, start, end)}
