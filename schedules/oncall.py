"""Who is on call: pure functions of a schedule and an instant (no I/O, no clock).

At an instant, the last override covering it wins (overrides a caller passes in lie above the
file's, last one on top); else the topmost layer whose restrictions hold it (a layer without
restrictions always does) gives its rotation's member; else nobody is on call: a gap.

A layer read from a calendar file answers only during its events (and inside its
restrictions, if it has any); where two events overlap, the one later in the file wins.

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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from schedules.models import Layer, Override, Rotation, Schedule
from schedules.weekly import Span

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Shift:
    """``person`` is on call over ``[start, end)``, both aware UTC datetimes; ``None`` is a
    gap, nobody on call."""

    person: str | None
    start: datetime
    end: datetime
    override: bool


@dataclass(frozen=True, slots=True)
class Cover:
    """``person`` stands in over ``[start, end)`` (aware instants): an override as instants,
    so overrides kept elsewhere than the schedule's file (written in UTC) fit in too."""

    person: str
    start: datetime
    end: datetime


def who_is_on_call(schedule: Schedule, at: datetime, extra: Sequence[Cover] = ()) -> str | None:
    """The person on call at the aware instant ``at``, or ``None`` in a gap."""
    return _resolve(schedule, _covers(schedule, extra), _aware_utc(at, "at"))[0]


def shifts(
    schedule: Schedule, start: datetime, end: datetime, extra: Sequence[Cover] = ()
) -> list[Shift]:
    """Shifts tiling ``[start, end)`` without overlap, in order, clipped to the window.

    Consecutive shifts with the same person and the same ``override`` flag are merged, so an
    override of the person already on call still shows as its own shift.
    """
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    covers = _covers(schedule, extra)
    # Nobody changes between two cuts, so each piece is resolved at its start.
    result: list[Shift] = []
    for piece_start, piece_end in _pieces(schedule, covers, start, end):
        person, is_override = _resolve(schedule, covers, piece_start)
        last = result[-1] if result else None
        if last is not None and (last.person, last.override) == (person, is_override):
            result[-1] = replace(last, end=piece_end)
        else:
            result.append(Shift(person, piece_start, piece_end, is_override))
    return result


def holders(
    schedule: Schedule, start: datetime, end: datetime, extra: Sequence[Cover] = ()
) -> list[Shift]:
    """Who holds the pager over ``[start, end)``: the shifts with someone on call, those of
    the same person back to back merged even where one is an override (a stand-in for the
    person already on call changes nobody). ``override`` is that of the first part."""
    held: list[Shift] = []
    for shift in shifts(schedule, start, end, extra):
        if shift.person is None:
            continue
        if held and (held[-1].person, held[-1].end) == (shift.person, shift.start):
            held[-1] = replace(held[-1], end=shift.end)
        else:
            held.append(shift)
    return held


def answering_layers(schedule: Schedule, start: datetime, end: datetime) -> set[int]:
    """The indexes of the layers that answer somewhere in ``[start, end)``, overrides aside."""
    start, end = _aware_utc(start, "start"), _aware_utc(end, "end")
    return {
        index
        for piece_start, _ in _pieces(schedule, [], start, end)
        if (index := covering_layer(schedule, piece_start)) is not None
    }


def _pieces(
    schedule: Schedule, covers: list[Cover], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut wherever a handoff, a restriction or a cover begins or ends."""
    zone = schedule.zone
    cuts = {start, end}
    for layer in schedule.layer_stack:
        rotation = layer.rotation
        if rotation is not None:
            turn = _turn(rotation, zone, start) + 1
            while (handoff := _handoff(rotation, zone, turn)) < end:
                cuts.add(handoff)
                turn += 1
        for event in layer.events:
            cuts.update(edge for edge in (event.start, event.end) if start < edge < end)
        for window in _windows(layer, zone, start, end):
            cuts.update(edge for edge in window if start < edge < end)
    for cover in covers:
        cuts.update(edge for edge in (cover.start, cover.end) if start < edge < end)
    return list(pairwise(sorted(cuts)))


def covering_layer(schedule: Schedule, at: datetime) -> int | None:
    """The index of the layer that answers at the UTC instant ``at`` when no override does."""
    zone = schedule.zone
    for index in reversed(range(len(schedule.layer_stack))):
        layer = schedule.layer_stack[index]
        if layer.calendar is not None and _event_at(layer, at) is None:
            continue
        if not layer.restrictions or any(
            window_start <= at < window_end
            for window_start, window_end in _windows(layer, zone, at, at)
        ):
            return index
    return None


def _resolve(schedule: Schedule, covers: list[Cover], at: datetime) -> tuple[str | None, bool]:
    """``(person, is_override)`` at the UTC instant ``at``."""
    for cover in reversed(covers):  # the last one wins
        if cover.start <= at < cover.end:
            return cover.person, True
    index = covering_layer(schedule, at)
    if index is None:
        return None, False
    layer = schedule.layer_stack[index]
    rotation = layer.rotation
    if rotation is None:
        return _event_at(layer, at), False
    return rotation.members[_turn(rotation, schedule.zone, at) % len(rotation.members)], False


def _event_at(layer: Layer, at: datetime) -> str | None:
    """Who a calendar layer's events put on call at ``at``; the last listed wins."""
    for event in reversed(layer.events):
        if event.start <= at < event.end:
            return event.person
    return None


def _covers(schedule: Schedule, extra: Sequence[Cover]) -> list[Cover]:
    zone = schedule.zone
    own = [Cover(o.person, *_interval(o, zone)) for o in schedule.overrides]
    return [*own, *(Cover(c.person, c.start.astimezone(UTC), c.end.astimezone(UTC)) for c in extra)]


def _windows(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[Span]:
    """The layer's restriction windows that may touch ``[start, end]``: those starting on a
    local day from the one before ``start`` (a night runs into the next day) to ``end``'s."""
    first = start.astimezone(zone).date() - _DAY
    days = (end.astimezone(zone).date() - first).days + 1
    return [
        window
        for restriction in layer.restrictions
        for window in restriction.occurrences_in(zone, first, days)
    ]


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
