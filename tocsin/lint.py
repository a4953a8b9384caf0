"""The warnings of ``tocsin check`` that depend on the time it runs: gaps in the coming weeks
of the schedules policies page, overrides that are over or change nothing, layers never on
call, and people nothing ever pages. Each points at its file and line."""

from datetime import datetime

from schedules.lint import gaps, hidden_layers, stale_overrides
from schedules.loader import schedule_file
from schedules.yamlfile import Problem
from tocsin.config import LoadedConfig, in_file_order, warning

DEFAULT_WEEKS = 4


def lint(loaded: LoadedConfig, now: datetime, weeks: int = DEFAULT_WEEKS) -> list[Problem]:
    """Every warning of the schedules, and of people when nothing in the configuration was
    left out for mistakes (else a person in a policy with a mistake looks unpaged)."""
    warnings = schedule_warnings(loaded, now, weeks)
    if loaded.complete:
        warnings += unpaged_people(loaded)
    return in_file_order(loaded.path, warnings)


def schedule_warnings(loaded: LoadedConfig, now: datetime, weeks: int) -> list[Problem]:
    config = loaded.config
    paged = _paged(loaded)
    warnings: list[Problem] = []
    schedules_dir = loaded.path.parent / (config.schedules_dir or ".")
    for name, schedule in sorted(loaded.schedules.items()):
        findings = [*stale_overrides(schedule, now), *hidden_layers(schedule, now, weeks)]
        if ("schedule", name) in paged:
            findings += gaps(schedule, now, weeks)
        file = schedule_file(schedules_dir, name)
        warnings += [warning(file, loc, message) for loc, message in findings]
    return warnings


def unpaged_people(loaded: LoadedConfig) -> list[Problem]:
    """People no schedule, group or policy names: most often someone who left, or a typo."""
    config = loaded.config
    reached = {p for schedule in loaded.schedules.values() for p in schedule.people}
    reached |= {p for members in config.groups.values() for p in members}
    reached |= {name for kind, name in _paged(loaded) if kind == "person"}
    message = "is on no schedule, in no group, and no policy pages them"
    return [
        warning(loaded.path, ("people", person), message)
        for person in config.people
        if person not in reached
    ]


def _paged(loaded: LoadedConfig) -> set[tuple[str, str]]:
    return {
        (target.kind, target.name)
        for policy in loaded.config.escalation_policies.values()
        for level in policy.levels
        for target in level.targets
    }
