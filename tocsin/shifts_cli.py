"""``tocsin shifts SCHEDULE [--from DATE] [--days N] [--person P] [--tz ZONE] [--json]``: the
coming shifts of a schedule as a table, gaps and overrides marked, in the schedule's zone and
the viewer's (``--tz``, else ``$TZ``), so someone abroad reads their own hours beside the
schedule's."""

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schedules.models import Schedule
from schedules.oncall import Shift, shifts
from schedules.stored import from_store
from tocsin.config import LoadedConfig
from tocsin.override_cli import stored_covers
from tocsin.settings import Settings
from tocsin.storecmd import fail

MAX_DAYS = 366


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    sub = commands.add_parser("shifts", parents=[common], help="the coming shifts of a schedule")
    sub.add_argument("schedule", help="the schedule's name")
    sub.add_argument(
        "--from",
        dest="start",
        type=datetime.fromisoformat,
        help="date or ISO time; without an offset, in the schedule's zone (default: now)",
    )
    sub.add_argument("--days", type=int, default=7, help=f"how many days, 1 to {MAX_DAYS} (7)")
    sub.add_argument("--person", help="only this person's shifts (a person id)")
    sub.add_argument("--tz", help="the viewer's time zone (default: $TZ)")
    sub.add_argument("--json", action="store_true", help="as JSON")


def shifts_command(
    loaded: LoadedConfig,
    args: argparse.Namespace,
    clock: Callable[[], datetime],
    settings: Settings,
) -> int:
    schedule = loaded.schedules.get(args.schedule)
    if schedule is None:
        known = ", ".join(sorted(loaded.schedules)) or "none"
        return fail(f"no schedule {args.schedule!r} (known: {known})")
    if not 1 <= args.days <= MAX_DAYS:
        return fail(f"--days {args.days}: give a number of days from 1 to {MAX_DAYS}")
    if args.person is not None and args.person not in loaded.config.people:
        return fail(f"--person {args.person!r}: not in people")
    try:
        viewer = _viewer_zone(args.tz, schedule)
    except ValueError as error:
        return fail(str(error))
    start = args.start or clock().replace(second=0, microsecond=0)
    if start.tzinfo is None:
        start = start.replace(tzinfo=schedule.zone)
    end = start + timedelta(days=args.days)
    stored = stored_covers(settings, [schedule.name], clock()).get(schedule.name, [])
    found = [
        _Row(shift, from_store(shift, stored))
        for shift in shifts(schedule, start, end, stored)
        if args.person is None or shift.person == args.person
    ]
    if args.json:
        print(json.dumps([_as_json(loaded, schedule, row) for row in found], indent=2))
    else:
        print("\n".join(_table(loaded, schedule, viewer, start, end, found)))
    return 0


def _viewer_zone(name: str | None, schedule: Schedule) -> ZoneInfo:
    text = name or os.environ.get("TZ") or schedule.timezone
    try:
        return ZoneInfo(text.removeprefix(":"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r} for --tz: use an IANA name such as America/New_York"
        ) from None


@dataclass(frozen=True, slots=True)
class _Row:
    shift: Shift
    stored: bool
    """An override from the store (``tocsin override``), not from the schedule's file."""


def _who(loaded: LoadedConfig, row: _Row) -> str:
    shift = row.shift
    if shift.person is None:
        return "-- nobody (gap) --"
    known = loaded.config.people.get(shift.person)
    name = f"{known.name} ({shift.person})" if known else shift.person
    if row.stored:
        return f"{name}  [stored override]"
    return f"{name}  [override]" if shift.override else name


def _table(
    loaded: LoadedConfig,
    schedule: Schedule,
    viewer: ZoneInfo,
    start: datetime,
    end: datetime,
    found: list[_Row],
) -> list[str]:
    zones = [schedule.zone] if viewer.key == schedule.timezone else [schedule.zone, viewer]
    header = f"{schedule.name}: {_at(start, schedule.zone)} to {_at(end, schedule.zone)}"
    columns = [f"{edge} ({zone.key})" for zone in zones for edge in ("from", "to")] + ["who"]
    rows = [
        [_at(instant, zone) for zone in zones for instant in (row.shift.start, row.shift.end)]
        + [_who(loaded, row)]
        for row in found
    ]
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [columns, *rows]
    ]
    return [header, "", *lines] if rows else [header, "", "(no shifts)"]


def _at(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _as_json(loaded: LoadedConfig, schedule: Schedule, row: _Row) -> dict[str, object]:
    shift = row.shift
    known = loaded.config.people.get(shift.person or "")
    return {
        "person": shift.person,
        "name": known.name if known else None,
        "start": shift.start.astimezone(schedule.zone).isoformat(),
        "end": shift.end.astimezone(schedule.zone).isoformat(),
        "override": shift.override,
        "stored_override": row.stored,
        "gap": shift.person is None,
    }
