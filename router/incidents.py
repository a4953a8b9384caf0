"""What an alert or an acknowledgement does to an incident: pure, so it is tested without
Redis and the store only loads, calls and saves."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ingest.models import Alert, AlertStatus
from router.grouping import group_labels
from router.matching import Placement
from router.models import (
    AlertRecord,
    Incident,
    IncidentEventKind,
    TimelineKind,
)
from router.states import IncidentAction, next_status


class Outcome(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    """A new or re-firing alert joined an open incident."""
    REPEATED = "repeated"
    """The same alert again: count and last-seen bumped, nobody paged."""
    ALERT_RESOLVED = "alert_resolved"
    INCIDENT_RESOLVED = "incident_resolved"
    IGNORED = "ignored"
    """A resolved alert nobody knew as firing, or a repeat of a resolution."""
    UNROUTED = "unrouted"
    STALE = "stale"
    """A firing of an episode whose resolution was already applied (it arrived late)."""
    DUPLICATE = "duplicate"
    """A stream entry delivered again after its effect was stored."""


@dataclass
class Change:
    outcome: Outcome
    incident: Incident | None = None
    events: list[IncidentEventKind] = field(default_factory=list)

    @property
    def closes_group(self) -> bool:
        return self.outcome is Outcome.INCIDENT_RESOLVED


def open_incident(
    incident_id: str, alert: Alert, placement: Placement, group_key: str, now: datetime
) -> Change:
    incident = Incident(
        id=incident_id,
        title=alert.summary,
        severity=placement.severity,
        route=placement.route_name,
        policy=placement.route.policy,
        group_key=group_key,
        group_labels=group_labels(alert, placement),
        created_at=now,
        alerts={alert.dedup_key: _record(alert, placement, now)},
    )
    incident.record(now, TimelineKind.CREATED, detail=f"route {placement.route_name}")
    incident.record(now, TimelineKind.ALERT_ADDED, detail=alert.summary)
    return Change(Outcome.OPENED, incident, [IncidentEventKind.OPENED])


def apply_to_open(incident: Incident, alert: Alert, placement: Placement, now: datetime) -> Change:
    """An alert for the open incident of its group."""
    record = incident.alerts.get(alert.dedup_key)
    if alert.status is AlertStatus.FIRING:
        if record is not None and record.status is AlertStatus.FIRING:
            record.count += 1
            # Two routers can apply a group's alerts out of order: never move backwards.
            record.last_seen = max(record.last_seen, now)
            return Change(Outcome.REPEATED, incident)
        if record is None:
            incident.alerts[alert.dedup_key] = _record(alert, placement, now)
        else:
            record.status, record.resolved_at = AlertStatus.FIRING, None
            record.count += 1
            record.last_seen = max(record.last_seen, now)
        incident.severity = min(incident.severity, placement.severity)
        incident.record(now, TimelineKind.ALERT_ADDED, detail=alert.summary)
        return Change(Outcome.JOINED, incident)

    if record is None or record.status is AlertStatus.RESOLVED:
        return Change(Outcome.IGNORED)
    record.status, record.resolved_at, record.last_seen = AlertStatus.RESOLVED, now, now
    incident.record(now, TimelineKind.ALERT_RESOLVED, detail=alert.summary)
    if any(r.status is AlertStatus.FIRING for r in incident.alerts.values()):
        return Change(Outcome.ALERT_RESOLVED, incident)
    incident.status = next_status(incident.status, IncidentAction.RESOLVE)
    incident.resolved_at = now
    incident.record(now, TimelineKind.RESOLVED, detail="all alerts resolved")
    return Change(Outcome.INCIDENT_RESOLVED, incident, [IncidentEventKind.RESOLVED])


def acknowledge(incident: Incident, person: str, now: datetime) -> bool:
    """Returns whether anything changed: acknowledging twice keeps the first who and when."""
    status = next_status(incident.status, IncidentAction.ACKNOWLEDGE)
    if status is incident.status:
        return False
    incident.status = status
    incident.acknowledged_at, incident.acknowledged_by = now, person
    incident.record(now, TimelineKind.ACKNOWLEDGED, person=person)
    return True


def _record(alert: Alert, placement: Placement, now: datetime) -> AlertRecord:
    return AlertRecord(
        dedup_key=alert.dedup_key,
        status=alert.status,
        summary=alert.summary,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        severity=placement.severity,
        first_seen=now,
        last_seen=now,
    )
