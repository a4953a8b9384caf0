"""Which incidents ``GET /api/v1/incidents`` lists when asked for a status, severity or route:
parsed from the query once, so a bad value is refused before the store is read."""

from collections.abc import Mapping
from dataclasses import dataclass

from router.config import Severity
from router.models import Incident, IncidentStatus

OPEN = "open"
"""Not resolved: triggered or acknowledged."""
STATUSES = (OPEN, *(s.value for s in IncidentStatus))


class BadFilter(ValueError):
    """A query value no incident could have (the message names the parameter)."""


@dataclass(frozen=True)
class IncidentFilter:
    statuses: frozenset[IncidentStatus] | None = None
    severity: Severity | None = None
    route: str | None = None

    @property
    def everything(self) -> bool:
        return self.statuses is None and self.severity is None and self.route is None

    def matches(self, incident: Incident) -> bool:
        return (
            (self.statuses is None or incident.status in self.statuses)
            and (self.severity is None or incident.severity is self.severity)
            and (self.route is None or incident.route == self.route)
        )


def parse_filter(query: Mapping[str, str]) -> IncidentFilter:
    status = query.get("status")
    severity = query.get("severity")
    if status is not None and status not in STATUSES:
        raise BadFilter(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if severity is not None and severity not in {s.value for s in Severity}:
        choices = ", ".join(s.value for s in Severity)
        raise BadFilter(f"severity must be one of {choices}, not {severity!r}")
    if status is None:
        statuses = None
    elif status == OPEN:
        statuses = frozenset({IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED})
    else:
        statuses = frozenset({IncidentStatus(status)})
    return IncidentFilter(
        statuses, Severity(severity) if severity is not None else None, query.get("route")
    )
