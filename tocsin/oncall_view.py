"""Who is on call, as the console's pages and ``/api/v1`` show it: per schedule the shift
under way and the next ones, per escalation policy whom each level would page now, a
schedule's shifts over a range, and one person's shifts across schedules.

Pure: the caller reads the stored overrides (``OverrideStore.covers_of``) and gives ``now``,
so the page and the API cannot disagree about what they show. The answers are the models
the API dumps and ``/openapi.json`` describes."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from notifier.directory import Directory
from schedules.models import Schedule
from schedules.oncall import Cover, shifts
from schedules.stored import from_store

AHEAD = timedelta(days=14)
"""How far ahead the on-call view looks: past it, a shift is "two weeks or more"."""
NEXT_SHIFTS = 5

Covers = Mapping[str, Sequence[Cover]]
"""Stored overrides by schedule name, on top of the files' own."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRef(_Answer):
    id: str
    name: str


class ScheduledShift(_Answer):
    """``person`` is on call over ``[start, end)``; ``person`` null is a gap: nobody is."""

    person: str | None
    name: str | None
    start: AwareDatetime
    end: AwareDatetime
    override: bool
    stored_override: bool
    """The override is kept in the store (``tocsin override``), not in the schedule's file."""


class ScheduleNow(_Answer):
    schedule: str
    timezone: str
    current: ScheduledShift
    """The shift under way; its ``end`` is cut at the look-ahead when it lasts longer."""
    until: AwareDatetime | None
    """When the current shift ends; null when not within the look-ahead (two weeks)."""
    next: list[ScheduledShift]


class LevelNow(_Answer):
    targets: list[str]
    ack_timeout: timedelta
    pages_now: list[PersonRef]
    """Whom the level would page now, each once; round-robin groups give every member."""


class PolicyNow(_Answer):
    policy: str
    repeat: int
    levels: list[LevelNow]


class OnCallNow(_Answer):
    at: AwareDatetime
    schedules: list[ScheduleNow]
    policies: list[PolicyNow]


class ScheduleShifts(_Answer):
    schedule: str
    timezone: str
    since: AwareDatetime
    until: AwareDatetime
    shifts: list[ScheduledShift]
    """Tiling ``[since, until)`` in order, gaps included."""


class PersonShift(_Answer):
    schedule: str
    start: AwareDatetime
    end: AwareDatetime
    override: bool
    stored_override: bool


class ScheduleList(_Answer):
    schedules: list[ScheduleShifts]


class PersonShifts(_Answer):
    person: str
    name: str
    calendar_url: str
    """Their calendar feed (``GET /people/{id}.ics``), its token included."""
    since: AwareDatetime
    until: AwareDatetime
    shifts: list[PersonShift]


def name_of(directory: Directory, person: str) -> str:
    known = directory.people.get(person)
    return known.name if known is not None else person


def schedule_shifts(
    directory: Directory, schedule: Schedule, since: datetime, until: datetime, covers: Covers
) -> list[ScheduledShift]:
    stored = covers.get(schedule.name, ())
    return [
        ScheduledShift(
            person=shift.person,
            name=None if shift.person is None else name_of(directory, shift.person),
            start=shift.start,
            end=shift.end,
            override=shift.override,
            stored_override=from_store(shift, stored),
        )
        for shift in shifts(schedule, since, until, stored)
    ]


def schedule_range(
    directory: Directory, schedule: Schedule, since: datetime, until: datetime, covers: Covers
) -> ScheduleShifts:
    return ScheduleShifts(
        schedule=schedule.name,
        timezone=schedule.timezone,
        since=since,
        until=until,
        shifts=schedule_shifts(directory, schedule, since, until, covers),
    )


def on_call_now(directory: Directory, now: datetime, covers: Covers) -> OnCallNow:
    schedules = []
    for name, schedule in sorted(directory.schedules.items()):
        current, *after = schedule_shifts(directory, schedule, now, now + AHEAD, covers)
        schedules.append(
            ScheduleNow(
                schedule=name,
                timezone=schedule.timezone,
                current=current,
                until=current.end if after else None,
                next=after[:NEXT_SHIFTS],
            )
        )
    policies = [
        PolicyNow(
            policy=name,
            repeat=policy.repeat,
            levels=[
                LevelNow(
                    targets=[str(t) for t in level.targets],
                    ack_timeout=level.ack_timeout,
                    pages_now=[
                        PersonRef(id=p, name=name_of(directory, p))
                        for p in directory.resolve(level, now, covers=covers)
                    ],
                )
                for level in policy.levels
            ],
        )
        for name, policy in sorted(directory.policies.items())
    ]
    return OnCallNow(at=now, schedules=schedules, policies=policies)


def person_shifts(
    directory: Directory, person: str, since: datetime, until: datetime, covers: Covers
) -> list[PersonShift]:
    """``person``'s shifts in every schedule, soonest first. Every schedule is looked at, not
    only those naming them: an override can put anyone on call."""
    found = [
        PersonShift(
            schedule=name,
            start=shift.start,
            end=shift.end,
            override=shift.override,
            stored_override=shift.stored_override,
        )
        for name, schedule in directory.schedules.items()
        for shift in schedule_shifts(directory, schedule, since, until, covers)
        if shift.person == person
    ]
    return sorted(found, key=lambda s: (s.start, s.schedule))
