"""Who a level's targets are at an instant: people named directly and whoever is on call."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifier.config import EscalationPolicy, Level, Person
from router.config import ResolvedRoute
from router.inhibition import InhibitRule
from router.maintenance import MaintenanceWindow
from schedules.models import Schedule
from schedules.oncall import who_is_on_call


@dataclass(frozen=True)
class Directory:
    """The parts of the configuration paging reads: loaded once, replaced whole on reload."""

    people: Mapping[str, Person]
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    policies: Mapping[str, EscalationPolicy] = field(default_factory=dict)
    maintenance: Sequence[MaintenanceWindow] = ()
    inhibit_rules: Sequence[InhibitRule] = ()
    routes: Mapping[str, ResolvedRoute] = field(default_factory=dict)
    """Every route's settings by name: when its incidents page and report (``group_wait``,
    ``group_interval``, ``support_hours``). A route not here pages at once, without reports."""

    def resolve(self, level: Level, at: datetime) -> list[str]:
        """Person ids in target order, each once (the same person on call for two targets
        gets one page)."""
        found: list[str] = []
        for target in level.targets:
            if target.kind == "person":
                person: str | None = target.name
            else:
                # None in a gap of the schedule: that target pages nobody, the others still do.
                person = who_is_on_call(self.schedules[target.name], at)
            if person is not None and person not in found:
                found.append(person)
        return found
