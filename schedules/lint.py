"""What ``tocsin check`` warns about in a schedule, though it loads: gaps in the coming weeks,
overrides that change nothing or are over, layers that never answer. Pure: ``now`` is given.

Each finding is ``(loc, message)``, the place in the schedule's file and what to say there.
"""

from datetime import datetime, timedelta

from schedules.models import Schedule
from schedules.oncall import Shift, answering_layers, shifts
from schedules.yamlfile import Loc

MAX_GAPS_SHOWN = 3


def gaps(schedule: Schedule, now: datetime, weeks: int) -> list[tuple[Loc, str]]:
    """Spans of the next ``weeks`` weeks with nobody on call, as one finding."""
    end = now + timedelta(weeks=weeks)
    found = [shift for shift in shifts(schedule, now, end) if shift.person is None]
    if not found:
        return []
    shown = ", ".join(
        f"{_at(gap.start, schedule)} to {_at(gap.end, schedule)}" for gap in found[:MAX_GAPS_SHOWN]
    )
    if len(found) > MAX_GAPS_SHOWN:
        shown += f" and {len(found) - MAX_GAPS_SHOWN} more"
    where: Loc = ("rotation",) if schedule.rotation is not None else ("layers",)
    message = (
        f"nobody is on call {len(found)} times in the next {weeks} weeks ({schedule.timezone}): "
        f"{shown}"
    )
    return [(where, message)]


def stale_overrides(schedule: Schedule, now: datetime) -> list[tuple[Loc, str]]:
    """Overrides that are over, and overrides that do not change who is on call."""
    findings: list[tuple[Loc, str]] = []
    zone = schedule.zone
    for index, override in enumerate(schedule.overrides):
        loc: Loc = ("overrides", index)
        start = override.start.replace(tzinfo=zone)
        end = override.end.replace(tzinfo=zone)
        if end <= now:
            findings.append((loc, "is over: it ended before now, and can be removed"))
            continue
        if end <= start:  # empty once read on the clock: a DST gap swallowed it
            continue
        others = [o for i, o in enumerate(schedule.overrides) if i != index]
        without = schedule.model_copy(update={"overrides": others})
        found = shifts(without, start, end)
        if _people(shifts(schedule, start, end)) != _people(found):
            continue
        if {shift.person for shift in found} == {override.person}:
            findings.append((loc, f"changes nothing: {override.person} is on call then anyway"))
        else:
            findings.append((loc, "changes nothing: overrides listed after it cover all of it"))
    return findings


def hidden_layers(schedule: Schedule, now: datetime, weeks: int) -> list[tuple[Loc, str]]:
    """Layers that never answer in the next ``weeks`` weeks: the ones above cover them."""
    answering = answering_layers(schedule, now, now + timedelta(weeks=weeks))
    message = "hidden by the layers above it for the next {weeks} weeks: nobody in it is on call"
    return [
        (("layers", index), f"{schedule.layer_name(index)}: {message.format(weeks=weeks)}")
        for index in range(len(schedule.layers))
        if index not in answering
    ]


def _people(found: list[Shift]) -> list[tuple[str | None, datetime, datetime]]:
    return [(shift.person, shift.start, shift.end) for shift in found]


def _at(instant: datetime, schedule: Schedule) -> str:
    return instant.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M")
