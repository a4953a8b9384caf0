"""Load a directory of schedule files, one ``<name>.yaml`` per schedule, and the calendar
files their layers name."""

from pathlib import Path

from schedules.ics import read_events
from schedules.models import CalendarShift, Schedule
from schedules.yamlfile import ConfigFileError, Problem, format_loc, line_of, read_yaml_model

_SUFFIXES = {".yaml", ".yml"}
MAX_CALENDAR_BYTES = 5_000_000
"""Years of shifts; a larger file is most likely not the one meant."""


def load_schedules(directory: Path) -> dict[str, Schedule]:
    """Every schedule in ``directory`` by name; ``ConfigFileError`` lists all problems in all files.

    A schedule's ``name`` must equal its file's stem, so the file for a name is easy to find.
    An empty directory holds no schedules, which is not an error.
    """
    schedules, problems = read_schedules(directory)
    if problems:
        raise ConfigFileError(problems)
    return schedules


def read_schedules(directory: Path) -> tuple[dict[str, Schedule], list[Problem]]:
    """The schedules in ``directory`` as far as they could be read, and every problem.

    A file with problems still gives what is right in it (``read_yaml_model``), so that the
    people it names and the policies naming it are checked in the same run.
    """
    try:
        files = schedule_files(directory)
    except OSError as exc:
        problem = Problem(directory, None, f"cannot read schedule directory: {exc.strerror}")
        return {}, [problem]

    schedules: dict[str, Schedule] = {}
    defined_in: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in files:
        read = read_yaml_model(path, Schedule)
        problems += read.problems
        if read.value is None:
            continue
        mismatch = _name_mismatch(path, read.value, defined_in)
        if mismatch is not None:
            problems.append(Problem(path, line_of(path, ("name",)), mismatch))
            continue
        schedule, calendar_problems = _with_calendars(directory, path, read.value)
        problems += calendar_problems
        schedules[schedule.name] = schedule
        defined_in[schedule.name] = path
    return schedules, problems


def schedule_files(directory: Path) -> list[Path]:
    """Every file in ``directory`` that defines a schedule, by name; ``OSError`` when it
    cannot be listed."""
    return sorted(path for path in directory.iterdir() if path.suffix in _SUFFIXES)


def schedule_file(directory: Path, name: str) -> Path:
    """The file that defines schedule ``name`` (its name is its file's stem)."""
    for suffix in sorted(_SUFFIXES):
        if (directory / f"{name}{suffix}").exists():
            return directory / f"{name}{suffix}"
    return directory / f"{name}.yaml"


def _name_mismatch(path: Path, schedule: Schedule, defined_in: dict[str, Path]) -> str | None:
    if schedule.name != path.stem:
        return (
            f"name: {schedule.name!r} does not match the file name; "
            f"write name: {path.stem} or rename the file to {schedule.name}{path.suffix}"
        )
    if schedule.name in defined_in:  # only a.yaml next to a.yml gets here
        return f"name: schedule {schedule.name!r} is also defined in {defined_in[schedule.name]}"
    return None


def _with_calendars(
    directory: Path, path: Path, schedule: Schedule
) -> tuple[Schedule, list[Problem]]:
    """The schedule with the events of its calendar layers read from their files."""
    events: list[list[CalendarShift]] = []
    problems: list[Problem] = []
    for index, layer in enumerate(schedule.layers):
        found: list[CalendarShift] = []
        if layer.calendar is not None:
            try:
                found = _read_calendar(directory, layer.calendar, schedule)
            except ValueError as error:
                loc = ("layers", index, "calendar")
                problems.append(Problem(path, line_of(path, loc), f"{format_loc(loc)}: {error}"))
        events.append(found)
    return schedule.with_events(events), problems


def _read_calendar(directory: Path, name: str, schedule: Schedule) -> list[CalendarShift]:
    file = directory / name
    if Path(name).is_absolute() or not file.resolve().is_relative_to(directory.resolve()):
        raise ValueError(f"{name!r}: name a file inside the schedules folder")
    try:
        with file.open("rb") as opened:
            data = opened.read(MAX_CALENDAR_BYTES + 1)
    except OSError as error:
        raise ValueError(f"cannot read {file}: {error.strerror}") from None
    if len(data) > MAX_CALENDAR_BYTES:
        raise ValueError(f"{file} is larger than {MAX_CALENDAR_BYTES // 1_000_000} MB")
    try:
        return read_events(data, schedule.zone)
    except ValueError as error:
        raise ValueError(f"{file}: {error}") from None
