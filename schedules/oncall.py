"""Who is on call: pure functions of a schedule and an instant (no I/O, no clock).

Rotation turns are numbered from the handoff: turn ``n`` belongs to
``members[n % len(members)]``, and turns before the handoff have negative numbers, so the
rotation simply runs backwards in time. A rotation whose ``every`` is a whole number of days
(``1d``, ``1w``, also ``24h``) hands off at the handoff's wall-clock time, so across a DST
change a week lasts 167 or 169 hours; shorter rotations count real elapsed time.

Local times become instants with zoneinfo's default ``fold=0`` (PEP 495): a time skipped when
clocks go forward is read with the offset from before the jump, which lands it as much later
as the jump (02:30 on Berlin's spring day is 03:30 CEST); a time that happens twice when
clocks go back is its first occurrence (summer time).
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from schedules.models import Override, Rotation, Schedule

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Shift:
    """``person`` is on call over ``[start, end)``, both aware UTC datetimes."""

    person: str
    start: datetime
    end: datetime
    override: bool


def who_is_on_call(schedule: Schedule, at: datetime) -> str:
    """The person on call at the aware instant ``at``.

    That is the person of the last listed override covering ``at``, else the rotation's.
    """
    return _resolve(schedule, _aware_utc(at, "at"))[0]


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Shifts covering ``[start, end)`` without gaps, in order, clipped to the window.

    Consecutive shifts with the same person and the same ``override`` flag are merged, so an
    override of the person already on call still shows as its own shift.
    """
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    rotation, zone = schedule.rotation, schedule.zone
    cuts = {start, end}
    turn = _turn(rotation, zone, start) + 1
    while (handoff := _handoff(rotation, zone, turn)) < end:
        cuts.add(handoff)
        turn += 1
    for override in schedule.overrides:
        cuts.update(edge for edge in _interval(override, zone) if start < edge < end)

    # Nobody changes between two cuts, so each piece is resolved at its start.
    result: list[Shift] = []
    for piece_start, piece_end in pairwise(sorted(cuts)):
        person, is_override = _resolve(schedule, piece_start)
        last = result[-1] if result else None
        if last is not None and (last.person, last.override) == (person, is_override):
            result[-1] = replace(last, end=piece_end)
        else:
            result.append(Shift(person, piece_start, piece_end, is_override))
    return result


def _resolve(schedule: Schedule, at: datetime) -> tuple[str, bool]:
    """``(person, is_override)`` at the UTC instant ``at``."""
    zone = schedule.zone
    for override in reversed(schedule.overrides):  # the last one listed wins
        override_start, override_end = _interval(override, zone)
        if override_start <= at < override_end:
            return override.person, True
    members = schedule.rotation.members
    return members[_turn(schedule.rotation, zone, at) % len(members)], False


def _turn(rotation: Rotation, zone: ZoneInfo, at: datetime) -> int:
    """The number of the turn under way at ``at``; turn 0 starts at the handoff."""
    if not _follows_wall_clock(rotation):
        return (at - _to_utc(rotation.handoff, zone)) // rotation.every
    # Counting in local time is right except within a DST shift of a handoff; the real
    # handoff instants around the guess settle it.
    local = at.astimezone(zone).replace(tzinfo=None)
    turn = (local - rotation.handoff) // rotation.every
    while _handoff(rotation, zone, turn) > at:
        turn -= 1
    while _handoff(rotation, zone, turn + 1) <= at:
        turn += 1
    return turn


def _handoff(rotation: Rotation, zone: ZoneInfo, turn: int) -> datetime:
    """The UTC instant at which turn number ``turn`` starts."""
    if _follows_wall_clock(rotation):
        return _to_utc(rotation.handoff + turn * rotation.every, zone)
    return _to_utc(rotation.handoff, zone) + turn * rotation.every


def _follows_wall_clock(rotation: Rotation) -> bool:
    return rotation.every % _DAY == timedelta(0)


def _interval(override: Override, zone: ZoneInfo) -> tuple[datetime, datetime]:
    # May be empty in UTC when `from` falls in a DST gap just before `to`; it then covers nothing.
    return _to_utc(override.start, zone), _to_utc(override.end, zone)


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value}")
    return value.astimezone(UTC)
