"""Who a level's targets are at an instant: people named directly, groups, and whoever is on
call."""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifier.config import EscalationPolicy, Level, Person
from router.config import ResolvedRoute
from router.inhibition import InhibitRule
from router.maintenance import MaintenanceWindow
from schedules.models import Schedule
from schedules.oncall import Cover, who_is_on_call


@dataclass(frozen=True)
class Directory:
    """The parts of the configuration paging reads: loaded once, replaced whole on reload."""

    people: Mapping[str, Person]
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    policies: Mapping[str, EscalationPolicy] = field(default_factory=dict)
    maintenance: Sequence[MaintenanceWindow] = ()
    inhibit_rules: Sequence[InhibitRule] = ()
    routes: Mapping[str, ResolvedRoute] = field(default_factory=dict)
    """Every route's settings by name: when its incidents page and report (``group_wait``,
    ``group_interval``, ``support_hours``). A route not here pages at once, without reports."""
    version: str = ""
    """Of the configuration this came from; every page's timeline event names it."""

    def resolve(
        self,
        level: Level,
        at: datetime,
        incident_id: str | None = None,
        covers: Mapping[str, Sequence[Cover]] | None = None,
    ) -> list[str]:
        """Person ids in target order, each once (the same person on call for two targets
        gets one page). ``covers``: by schedule name, overrides kept outside the files (the
        caller reads them from the store), on top of the files' own.

        A round-robin group gives the member whose turn ``incident_id`` is; without one (an
        incident not yet opened, as in explanations) every member who could be picked.
        """
        found: list[str] = []
        for target in level.targets:
            if target.kind == "person":
                people: Sequence[str] = [target.name]
            elif target.kind == "group":
                members = self.groups[target.name]
                if target.round_robin and incident_id is not None:
                    members = [round_robin(members, incident_id)]
                people = members
            else:
                # None in a gap of the schedule: that target pages nobody, the others still do.
                extra = (covers or {}).get(target.name, ())
                person = who_is_on_call(self.schedules[target.name], at, extra)
                people = [] if person is None else [person]
            for person in people:
                if person not in found:
                    found.append(person)
        return found


def schedule_targets(level: Level) -> list[str]:
    """The schedules a level pages through, whose stored overrides resolving it needs."""
    return [target.name for target in level.targets if target.kind == "schedule"]


def round_robin(members: Sequence[str], incident_id: str) -> str:
    """The member whose turn the incident is, from its id alone, so no state is kept.

    Incident ids count up (1, 2, 3...), so id mod the group's size takes members in turn; an
    id that is not a number is hashed instead (the same member for the same id, spread evenly).
    """
    number = (
        int(incident_id)
        if incident_id.isdigit()
        else int.from_bytes(hashlib.sha256(incident_id.encode()).digest()[:8], "big")
    )
    return members[number % len(members)]
