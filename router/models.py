"""The incident as stored and as the API shows it, and the events the router emits."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ingest.models import AlertStatus
from router.config import Severity


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TimelineKind(StrEnum):
    CREATED = "created"
    ALERT_ADDED = "alert_added"
    ALERT_RESOLVED = "alert_resolved"
    PAGED = "paged"
    PAGE_FAILED = "page_failed"
    UNREACHABLE = "unreachable"
    """No page of a step got to the person: every way failed for good or ran out of tries."""
    PAGE_HELD = "page_held"
    """Every firing alert is silenced: nobody is paged until a silence ends."""
    PAGE_DEFERRED = "page_deferred"
    """A SEV3 incident outside its route's support hours: it pages when they start."""
    NOT_PAGED = "not_paged"
    """A SEV4 incident: recorded, nobody paged."""
    ESCALATED = "escalated"
    POLICY_EXHAUSTED = "policy_exhausted"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    """The group fired again soon after the incident resolved: paged again from level 1."""
    SEVERITY_RAISED = "severity_raised"
    SEVERITY_CHANGED = "severity_changed"
    """Someone set the severity by hand: "SEV3 → SEV1 by alice"."""
    RESOLVED_NOTICE = "resolved_notice"
    ACKNOWLEDGED_NOTICE = "acknowledged_notice"
    UPDATE_NOTICE = "update_notice"
    """Alerts that joined the incident, reported to whoever has it (``group_interval``)."""
    SEVERITY_RAISED_NOTICE = "severity_raised_notice"
    ESCALATED_BY_HAND = "escalated_by_hand"
    """Someone asked from the incident page to page the next level now."""
    SNOOZED = "snoozed"
    """Acknowledged for a while (``Incident.snoozed_until``): then paged again."""
    REASSIGNED = "reassigned"
    """Someone handed the incident to another person of its policy, who is paged at once."""
    RETRIGGERED = "retriggered"
    """A snooze or an acknowledgement ran out while the incident was still open: it waits
    for someone again and pages from level 1."""
    ESCALATED_NOTICE = "escalated_notice"
    SNOOZED_NOTICE = "snoozed_notice"
    REASSIGNED_NOTICE = "reassigned_notice"
    NOTE = "note"
    """Written by a person in the console: what they found or did."""
    STORM = "storm"
    """A storm incident's entry for one minute: how many new groups it brought, over what
    cap; kept up to date through the minute."""


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    kind: TimelineKind
    person: str | None = None
    channel: str | None = None
    level: int | None = None
    """1-based escalation level, for paging events."""
    round: int | None = None
    """0 for the first pass through the policy, 1 for the first repeat, ..."""
    epoch: int | None = None
    """The paging run (``Incident.page_epoch``) of a page; ``None`` on other events and on
    pages recorded before runs were noted."""
    detail: str | None = None


class AlertRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dedup_key: str
    status: AlertStatus
    summary: str
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    generator_url: str | None = None
    integration: str | None = None
    """The integration it first arrived on, and in what format (``source``); ``None`` for
    alerts stored before these were kept."""
    source: str | None = None
    severity: Severity
    count: int = 1
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    resolved_at: AwareDatetime | None = None
    last_entry: str | None = Field(default=None, exclude=True)
    """The latest alert stream entry applied to it."""
    applied: list[str] = Field(default_factory=list, exclude=True)
    """The latest entries applied to it, so a redelivered one changes nothing."""


class Storm(BaseModel):
    """What a storm incident took in: the new groups its route had no room for."""

    model_config = ConfigDict(extra="forbid")

    limit: int
    """The route's ``storm_limit`` (new incidents a minute) when the storm began."""
    groups: int
    """Groups taken in."""
    listed: list[str]
    """The first few of them, as ``host=a``; the rest are only counted."""


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    status: IncidentStatus = IncidentStatus.TRIGGERED
    severity: Severity
    route: str
    policy: str
    service: str | None = None
    """What the incident is about, as its route names it (``service`` in the route)."""
    group_key: str
    group_labels: dict[str, str] = Field(default_factory=dict)
    created_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: AwareDatetime | None = None
    """Set while the acknowledgement is a snooze: when it ends, the incident pages again
    unless someone acknowledged it for good or resolved it meanwhile."""
    assigned_to: str | None = None
    """Whom it was last reassigned to from the incident page (paged at once); the owner
    notices go to until someone acknowledges. It stays triggered meanwhile: the policy
    keeps escalating if the new owner does not acknowledge."""
    assigned_by: str | None = None
    assigned_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    """Who resolved it by hand; ``None`` when its alerts resolved it."""
    page_epoch: int = 0
    """Which paging run is current: a severity raise or a reopening starts paging again
    from level 1 under the next epoch, and timers of an earlier one then do nothing."""
    alerts_total: int = 0
    """Distinct alerts; the alerts themselves are kept apart (``IncidentStore.alerts``)."""
    alerts_firing: int = 0
    alert_events: int = 0
    """Alert events in the timeline (``IncidentStore.timeline``): only the first few."""
    alert_events_omitted: int = 0
    alerts_not_shown: int = 0
    """Alerts the sender said it left out of its last notification (``truncatedAlerts``):
    while there are any, the incident does not resolve on the alerts it was shown."""
    """Alert events past those, counted instead of listed, so a storm stays readable."""
    alerts_unreported: int = 0
    """Alerts that joined since the last report of them (routes with ``group_interval``)."""
    report_pending: bool = False
    """A report of joined alerts is due: while it is, joining alerts only count up, so a
    storm announces one event per report, not one per alert."""
    last_report_at: AwareDatetime | None = None
    storm: Storm | None = None
    """Only on the incident a route's storm control opens (``storm_limit``)."""


class IncidentEventKind(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALERTS_ADDED = "alerts_added"
    """Alerts joined an incident whose route reports them, and no report was due yet."""
    REOPENED = "reopened"
    SEVERITY_RAISED = "severity_raised"
    """By a more severe alert or by hand: paging starts again from level 1 (new epoch), or
    whoever acknowledged it is told."""
    SNOOZED = "snoozed"
    REASSIGNED = "reassigned"
    RETRIGGERED = "retriggered"
    """A snooze or acknowledgement ran out: paging starts again from level 1 (new epoch)."""


class IncidentEvent(BaseModel):
    """What happened to an incident, for the notifier: written in the same transaction as the
    change itself, so no change goes unannounced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str
    kind: IncidentEventKind
    at: AwareDatetime
    """When the change happened (for opened: when the alert that opened it was received)."""
    epoch: int = 0
    """The incident's ``page_epoch`` after the change: an event of an earlier epoch was
    overtaken by a later change and is not acted on."""
