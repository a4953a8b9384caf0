"""Contact channels: one small class per way of reaching a person, all behind ``Channel``.

A channel delivers one ``Notification`` to one person and reports whether it worked and, if
not, whether trying again could help. Retries and fallbacks are the paging job's decision.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ingest.models import AlertStatus
from notifier.backoff import RetryAfter
from notifier.config import Person
from router.config import Severity
from router.models import AlertRecord, Incident, IncidentStatus

__all__ = [
    "ACTION_KINDS",
    "AlertLink",
    "AlertSummary",
    "Channel",
    "Delivery",
    "DeliveryResult",
    "Notification",
    "carries",
]

Kind = Literal[
    "page",
    "assigned",
    "resolved",
    "acknowledged",
    "update",
    "severity_raised",
    "escalated",
    "snoozed",
    "reassigned",
]
"""A page asks for action, and so does ``assigned`` (someone handed the incident to this
person from its page); the others tell people paged for an incident what became of it
(``severity_raised``: whoever acknowledged it, that it became more severe; ``escalated``,
``snoozed``, ``reassigned``: what someone did from the incident page), or (an update) which
alerts joined it since the last update."""

ACTION_KINDS = frozenset({"page", "assigned"})
"""The kinds that carry the person's link to the incident page."""

MAX_ALERTS = 10
"""Alerts listed in one notification; a group of hundreds would bury the ack link."""


LINK_ANNOTATIONS = {"runbook_url": "Runbook", "dashboard_url": "Dashboard"}
"""Annotations holding a link worth a click from a page, by the names Prometheus rules and
Grafana alerts commonly give them; the alert's own link (``generator_url``) is its source."""


class AlertLink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    url: str


class AlertSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    labels: dict[str, str] = Field(default_factory=dict)
    status: AlertStatus = AlertStatus.FIRING
    count: int = Field(default=1, ge=1)
    links: tuple[AlertLink, ...] = ()
    """Runbook, dashboard and source, where the alert has them."""

    @classmethod
    def of(cls, record: AlertRecord) -> Self:
        return cls(
            summary=record.summary,
            labels=record.labels,
            status=record.status,
            count=record.count,
            links=alert_links(record),
        )


def alert_links(record: AlertRecord) -> tuple[AlertLink, ...]:
    """Only http(s) links: anything else (``javascript:``, ``file:``) came from a sender and
    must not become something a click runs."""
    found = [(title, record.annotations.get(name)) for name, title in LINK_ANNOTATIONS.items()]
    found.append(("Source", record.generator_url))
    return tuple(
        AlertLink(title=title, url=url)
        for title, url in found
        if url is not None and url.startswith(("https://", "http://"))
    )


class Delivery(BaseModel):
    """Which delivery a notification is, for a provider that reports on it after accepting
    it (Twilio's status callback): the incident's record of it is found again by these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    """What the delivery is recorded under (``page:<step>``, ``assigned:<when>``)."""
    created_at: AwareDatetime
    """The incident's, so a late report cannot touch another incident of the same id."""


class Notification(BaseModel):
    """What a channel needs to tell one person about one incident; also the webhook body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    incident_id: str
    title: str
    severity: Severity
    status: IncidentStatus
    level: int | None = Field(default=None, ge=1)
    """1-based escalation level; required for pages."""
    person: str
    """The person's id (their key in the ``people`` section)."""
    person_name: str
    ack_url: str | None = None
    incident_url: str | None = None
    alerts: tuple[AlertSummary, ...] = ()
    """Firing alerts first, at most ``MAX_ALERTS``."""
    alerts_omitted: int = Field(default=0, ge=0)
    """How many more alerts the incident has than are listed."""
    alerts_not_shown: int = Field(default=0, ge=0)
    """Alerts the sender itself left out of its last notification."""
    acknowledged_by: str | None = None
    """Who acknowledged (their name), for acknowledged notices."""
    alerts_added: int = Field(default=0, ge=0)
    """For updates: alerts that joined since the last update (those seen last are listed)."""
    by: str | None = None
    """Who did what the notice tells, from the incident page (their name)."""
    assigned_to: str | None = None
    """For ``reassigned``: to whom (their name)."""
    until: AwareDatetime | None = None
    """For ``snoozed``: when it pages again, if nobody resolved it by then."""
    delivery: Delivery | None = Field(default=None, exclude=True)
    """Ours, not the receiver's (left out of a webhook's body)."""

    @model_validator(mode="after")
    def _page_has_level(self) -> Self:
        if self.kind == "page" and self.level is None:
            raise ValueError("a page needs its escalation level")
        return self

    @classmethod
    def from_incident(
        cls,
        kind: Kind,
        incident: Incident,
        records: Sequence[AlertRecord],
        person_id: str,
        person: Person,
        *,
        level: int | None = None,
        ack_url: str | None = None,
        incident_url: str | None = None,
        acknowledged_by: str | None = None,
        alerts_added: int = 0,
        by: str | None = None,
        assigned_to: str | None = None,
        delivery_tag: str | None = None,
    ) -> Self:
        """``records``: the incident's first alerts in reading order (firing first);
        ``delivery_tag``: what the delivery is recorded under."""
        return cls(
            kind=kind,
            incident_id=incident.id,
            title=title(incident),
            severity=incident.severity,
            status=incident.status,
            level=level,
            person=person_id,
            person_name=person.name,
            ack_url=ack_url,
            incident_url=incident_url,
            alerts=tuple(AlertSummary.of(r) for r in records[:MAX_ALERTS]),
            alerts_omitted=max(0, incident.alerts_total - min(len(records), MAX_ALERTS)),
            alerts_not_shown=incident.alerts_not_shown,
            acknowledged_by=acknowledged_by,
            alerts_added=alerts_added,
            by=by,
            assigned_to=assigned_to,
            until=incident.snoozed_until if kind == "snoozed" else None,
            delivery=(
                Delivery(tag=delivery_tag, created_at=incident.created_at)
                if delivery_tag is not None
                else None
            ),
        )


def title(incident: Incident) -> str:
    """The incident's title; a storm's also says how many groups it took in, and which:
    ``alert storm on infra: 312 groups, e.g. host=a, host=b, ...``."""
    storm = incident.storm
    if storm is None:
        return incident.title
    groups = f"{storm.groups} group{'' if storm.groups == 1 else 's'}"
    more = ", ..." if storm.groups > len(storm.listed) else ""
    return f"{incident.title}: {groups}, e.g. {', '.join(storm.listed)}{more}"


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    retryable: bool
    """Meaningful when not ok: a transient failure (timeout, refused connection, 5xx, SMTP 4xx)
    that the same call might get past later."""
    detail: str
    retry_after: RetryAfter | None = None
    """When the service said how long to wait first, or until when (an HTTP
    ``Retry-After``)."""

    @classmethod
    def delivered(cls, detail: str) -> Self:
        return cls(ok=True, retryable=False, detail=detail)

    @classmethod
    def failed(cls, detail: str, *, retryable: bool, retry_after: RetryAfter | None = None) -> Self:
        return cls(ok=False, retryable=retryable, detail=detail, retry_after=retry_after)


class Channel(Protocol):
    name: str

    def reaches(self, person: Person) -> bool:
        """Whether the person has this contact method configured."""
        ...

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        """Deliver; never raises for delivery problems (only for bugs)."""
        ...

    async def aclose(self) -> None: ...


def carries(channel: Channel, kind: Kind) -> bool:
    """Whether ``channel`` sends notifications of ``kind``: every kind, unless it lists the
    ones it takes as ``kinds`` (a phone call is for pages, not for notices)."""
    kinds: Collection[Kind] | None = getattr(channel, "kinds", None)
    return kinds is None or kind in kinds
