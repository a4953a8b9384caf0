"""What happens to incidents: the outcomes of applying an alert, of resolving by hand and of
setting the severity by hand (the changes themselves are made atomically by Lua scripts, see
``router.store``) and
acknowledging, a pure change of an incident's head by the lifecycle table."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from router.models import Incident, TimelineEvent, TimelineKind
from router.states import IncidentAction, next_status


class Outcome(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    """The group fired again within its route's reopen window after the incident resolved."""
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
    ACKNOWLEDGED = "acknowledged"
    """The sender acknowledged an alert: the incidents it fires in are acknowledged."""


class Resolution(StrEnum):
    """What resolving an incident by hand did."""

    RESOLVED = "resolved"
    ALREADY_RESOLVED = "already_resolved"
    NOT_FOUND = "not_found"


class SeverityChange(StrEnum):
    """What setting an incident's severity by hand did."""

    RAISED = "raised"
    """Paging starts again from level 1, or whoever acknowledged it is told."""
    LOWERED = "lowered"
    UNCHANGED = "unchanged"
    RESOLVED = "resolved"
    """Nothing: a resolved incident keeps the severity it ended with."""
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Change:
    outcome: Outcome
    incident: Incident | None = None
    """The incident's head after the change, when the change touched it."""
    incident_id: str | None = None
    """The incident the alert belongs to, when it belongs to one."""


def acknowledge(incident: Incident, person: str, now: datetime) -> TimelineEvent | None:
    """The event to record, or ``None`` when nothing changed: acknowledging twice keeps the
    first who and when. Acknowledging a snoozed incident takes it for good (it will not
    page again when the snooze ends). Raises ``IllegalTransition`` for a resolved incident."""
    status = next_status(incident.status, IncidentAction.ACKNOWLEDGE)
    if status is incident.status and incident.snoozed_until is None:
        return None
    incident.status, incident.snoozed_until = status, None
    incident.acknowledged_at, incident.acknowledged_by = now, person
    return TimelineEvent(at=now, kind=TimelineKind.ACKNOWLEDGED, person=person)


def snooze(incident: Incident, person: str, now: datetime, until: datetime) -> TimelineEvent | None:
    """Acknowledge as ``person`` until ``until``; ``None`` when they already snoozed it and
    the snooze still runs (a form sent twice). Raises ``IllegalTransition`` for a resolved
    incident."""
    status = next_status(incident.status, IncidentAction.SNOOZE)
    if (
        incident.acknowledged_by == person
        and incident.snoozed_until is not None
        and incident.snoozed_until > now
    ):
        return None
    incident.status, incident.snoozed_until = status, until
    incident.acknowledged_at, incident.acknowledged_by = now, person
    return TimelineEvent(
        at=now, kind=TimelineKind.SNOOZED, person=person, detail=f"until {until.isoformat()}"
    )


def reassign(incident: Incident, to: str, by: str, now: datetime) -> TimelineEvent | None:
    """Make ``to`` the owner; ``None`` when they already are. Raises ``IllegalTransition``
    unless the incident waits for someone."""
    next_status(incident.status, IncidentAction.REASSIGN)
    if incident.assigned_to == to:
        return None
    incident.assigned_to, incident.assigned_by, incident.assigned_at = to, by, now
    return TimelineEvent(at=now, kind=TimelineKind.REASSIGNED, person=by, detail=f"to {to}")
