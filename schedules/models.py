"""A schedule file as operators write it: layers of rotations in a named time zone, plus
overrides. A schedule with one ``rotation`` is a schedule of one layer.

Times in these files are local wall-clock times without an offset, read in the schedule's
``timezone``; ``schedules.oncall`` turns them into instants.
"""

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schedules.durations import Duration
from schedules.weekly import WeeklyTimes

_LOCAL_FORMAT = "%Y-%m-%d %H:%M"


_FIRST_YEAR = 1900
_LAST_YEAR = 9998


def _parse_local(value: object) -> datetime:
    # Only the written form (or a naive datetime from code): pydantic's own parsing would
    # also take Unix timestamps and offsets, which have no place in a wall-clock time.
    parsed = None
    if isinstance(value, datetime) and value.tzinfo is None:
        parsed = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.strptime(value.strip(), _LOCAL_FORMAT)
    if parsed is not None:
        # Any zone's offset must still land inside the calendar: 9999-12-31 23:59 west of
        # UTC has no UTC time, and on-call lookups would fail on it at paging time.
        if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
            raise ValueError(
                f"local time {value!r} is out of range: use a year from {_FIRST_YEAR} to "
                f"{_LAST_YEAR} (for an override with no end, {_LAST_YEAR}-12-31 00:00 will do)"
            )
        return parsed
    raise ValueError(
        f"invalid local time {value!r}: write 'YYYY-MM-DD HH:MM' in the schedule's time zone, "
        "for example '2026-01-05 09:00'"
    )


def _format_local(value: datetime) -> str:
    return value.strftime(_LOCAL_FORMAT)


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_parse_local),
    PlainSerializer(_format_local, return_type=str),
]
"""A naive wall-clock time written ``YYYY-MM-DD HH:MM``, meaningful only with a time zone."""

Name = Annotated[str, Field(min_length=1)]

GROUP_PREFIX = "group:"
"""A rotation member written ``group:NAME`` stands for the people of group NAME in turn."""


class Rotation(BaseModel):
    """Members take turns of length ``every``; the first turn starts at ``handoff``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Duration
    handoff: LocalDateTime
    members: list[Name] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CalendarShift:
    """An event of a layer's calendar file: ``person`` over ``[start, end)``, aware UTC."""

    person: str
    start: datetime
    end: datetime


class Layer(BaseModel):
    """A rotation, or the events of a calendar file (``calendar``), that is on call only
    inside its ``restrictions`` (always, with none): outside them, and for a calendar
    outside its events, the layer below answers; where no layer does the schedule has a
    gap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    """Shown by ``tocsin shifts``; ``layer N`` (from 1) when left out."""
    every: Duration | None = None
    handoff: LocalDateTime | None = None
    members: list[Name] = []
    calendar: str | None = None
    """An iCalendar file, relative to the schedules folder, whose events are the shifts;
    each event's summary is the person's id. Instead of ``every``, ``handoff``, ``members``."""
    restrictions: list[WeeklyTimes] = []
    """Weekly windows in the schedule's zone: business hours, nights, weekends."""
    _events: tuple[CalendarShift, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _rotation_or_calendar(self) -> "Layer":
        rotation = {"every": self.every, "handoff": self.handoff, "members": self.members}
        if self.calendar is not None:
            written = [name for name, value in rotation.items() if value]
            if written:
                raise ValueError(f"write calendar or {', '.join(written)}, not both")
            return self
        missing = [name for name, value in rotation.items() if not value]
        if missing:
            raise ValueError(
                f"missing {', '.join(missing)}: a layer is a rotation (every, handoff, "
                "members) or a calendar file (calendar)"
            )
        return self

    @cached_property
    def rotation(self) -> Rotation | None:
        """The layer's rotation; ``None`` for a calendar layer. Kept: resolving asks for it
        at every piece of a window."""
        if self.every is None or self.handoff is None:
            return None
        return Rotation(every=self.every, handoff=self.handoff, members=self.members)

    @property
    def events(self) -> tuple[CalendarShift, ...]:
        """A calendar layer's events, read by the loader (``with_events``)."""
        return self._events

    def with_events(self, events: Sequence[CalendarShift]) -> "Layer":
        layer = self.model_copy()
        layer._events = tuple(events)
        return layer


class Override(BaseModel):
    """``person`` is on call from ``start`` (written ``from``) until ``end`` (written ``to``)."""

    # By name too, so code can write Override(start=..., end=...).
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    person: Name
    start: LocalDateTime = Field(alias="from")
    end: LocalDateTime = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")  # absent when `from` itself was invalid
        if start is not None and end <= start:
            raise ValueError(
                f"'to' ({_format_local(end)}) must be after 'from' ({_format_local(start)})"
            )
        return end


class Schedule(BaseModel):
    """One schedule file. ``name`` is how escalation policies refer to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    timezone: str
    layers: list[Layer] = []
    """Later layers lie on top of earlier ones."""
    # After layers, so its check sees them; checked when left out too.
    rotation: Rotation | None = Field(default=None, validate_default=True)
    overrides: list[Override] = []

    @field_validator("rotation")
    @classmethod
    def _rotation_or_layers(
        cls, rotation: Rotation | None, info: ValidationInfo
    ) -> Rotation | None:
        if "layers" not in info.data:  # layers had mistakes of their own
            return rotation
        if rotation is None and not info.data["layers"]:
            raise ValueError("missing: write rotation (a schedule of one layer) or layers")
        if rotation is not None and info.data["layers"]:
            raise ValueError("write rotation or layers, not both (a rotation is one layer)")
        return rotation

    @cached_property
    def layer_stack(self) -> list[Layer]:
        """The layers from the bottom up; a lone ``rotation`` is the only one."""
        if self.rotation is not None:
            return [Layer.model_validate(self.rotation.model_dump())]
        return self.layers

    def layer_name(self, index: int) -> str:
        return self.layer_stack[index].name or f"layer {index + 1}"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # Only on failure: listing the zone database reads many files.
            guess = get_close_matches(timezone, available_timezones(), n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else "use an IANA name such as UTC"
            raise ValueError(f"unknown time zone {timezone!r}: {hint}") from None
        return timezone

    def named_people(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every person named in the file, with where: ``(("rotation", "members", 0), "alice")``."""
        where: list[tuple[str | int, ...]] = (
            [("rotation",)]
            if self.rotation is not None
            else [("layers", i) for i in range(len(self.layers))]
        )
        members = [
            ((*place, "members", j), member)
            for place, layer in zip(where, self.layer_stack, strict=True)
            for j, member in enumerate(layer.members)
        ]
        # A calendar's people, each once, at the layer's `calendar` line.
        events = [
            ((*place, "calendar"), person)
            for place, layer in zip(where, self.layer_stack, strict=True)
            for person in dict.fromkeys(event.person for event in layer.events)
        ]
        overrides = [(("overrides", i, "person"), o.person) for i, o in enumerate(self.overrides)]
        return [*members, *events, *overrides]

    def with_groups(self, groups: Mapping[str, Sequence[str]]) -> "Schedule":
        """The schedule with each ``group:NAME`` member replaced, in place, by the group's
        people: they take their turns in the group's order. A group not in ``groups`` stays
        as written (``tocsin check`` reports it)."""

        def expand(members: list[str]) -> list[str]:
            people: list[str] = []
            for member in members:
                group = member.removeprefix(GROUP_PREFIX)
                known = member.startswith(GROUP_PREFIX) and group in groups
                people += groups[group] if known else [member]
            return people

        data = self.model_dump(by_alias=True)
        for layer in [data["rotation"]] if self.rotation is not None else data["layers"]:
            layer["members"] = expand(layer["members"])
        expanded = Schedule.model_validate(data)
        return expanded.with_events([layer.events for layer in self.layers])

    def with_events(self, events: Sequence[Sequence[CalendarShift]]) -> "Schedule":
        """The schedule with each layer's calendar events (by layer, in order)."""
        if not any(events):
            return self
        layers = [
            layer.with_events(found) for layer, found in zip(self.layers, events, strict=True)
        ]
        # A copy keeps a cached layer stack; built again, it holds the new layers.
        copy = self.model_copy(update={"layers": layers})
        copy.__dict__.pop("layer_stack", None)
        return copy

    @property
    def people(self) -> set[str]:
        """Everyone this schedule can put on call."""
        return {name for _, name in self.named_people()}

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's zone; ``ZoneInfo`` caches instances, so this is cheap."""
        return ZoneInfo(self.timezone)
