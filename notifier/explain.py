"""What a webhook payload would do, told whole: the alerts it becomes (or its errors, as the
webhook reports them), where each lands and why (``router.explain``), and who would be
paged at an instant. The core of ``tocsin explain``, ``POST /api/v1/explain`` and ``tocsin
test routes``.

Pure: the store's answers come in as ``Facts``. Paging is told as the first page of an
incident: level 1 of each route's policy, resolved through the schedules at ``at``; an alert
that joins an open incident pages nobody.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from ingest.config import Integration
from ingest.models import Alert, AlertStatus
from ingest.sources import SOURCES, PayloadError
from notifier.directory import Directory
from notifier.rules import ChannelName, methods, plan
from notifier.urgency import page_time
from router.config import RoutingConfig, Severity
from router.explain import AlertRouting, Facts, Landing, explain_routing, inhibition_sources
from schedules.durations import format_duration
from schedules.oncall import Cover


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifyStep(_Model):
    """When, after being paged, and by which channels the person hears of a page."""

    after_seconds: int
    channels: list[ChannelName]


class PagedPerson(_Model):
    id: str
    name: str
    by_rules: bool = False
    """Whether the person's notification rules say how; if not, every method at once."""
    notify: list[NotifyStep] = []
    """By rules: each step for the incident's urgency; else one step of every method."""


class Page(_Model):
    """The first page of one route the alert lands on."""

    route: str
    policy: str
    targets: list[str]
    """Level 1's, as written: ``schedule:payments-primary``, ``person:bob``."""
    people: list[PagedPerson]
    """Whom level 1's targets are at the instant explained."""
    now: bool
    """Whether the page goes out at that instant; ``why_not`` says why it does not."""
    at: datetime | None = None
    """When it goes out: that instant, later (``group_wait``, support hours), or ``None``
    (not for this alert: resolved, joining an open incident, held, SEV4)."""
    why_not: str | None = None


class AlertExplanation(_Model):
    dedup_key: str
    status: AlertStatus
    summary: str
    labels: dict[str, str]
    routing: AlertRouting
    pages: list[Page]
    """One per landing, in the same order."""


class FieldProblem(_Model):
    field: str
    """Where in the payload, as the webhook's 422 names it: ``alerts[0].labels``."""
    message: str


class Explanation(_Model):
    integration: str
    source: str
    at: datetime
    alerts: list[AlertExplanation]
    errors: list[FieldProblem]
    """The payload is not the integration's format: the webhook would refuse it (422)."""
    notes: list[str]
    """What was not checked, and how the question was read."""


def explain(
    routing: RoutingConfig,
    directory: Directory,
    integration: Integration,
    payload: object,
    at: datetime,
    facts: Facts,
    notes: Sequence[str] = (),
    covers: Mapping[str, Sequence[Cover]] | None = None,
) -> Explanation:
    """``payload``: the decoded JSON body, as the webhook of ``integration`` would receive
    it at ``at``; ``covers``: the schedules' stored overrides, as a page would see them."""
    said = [*notes, *_unchecked(routing, facts)]
    try:
        alerts = SOURCES[integration.type].parse(payload, integration, at)
    except PayloadError as error:
        problems = [FieldProblem(field=e.field, message=e.message) for e in error.errors]
        return _explanation(integration, at, [], problems, said)
    payload_groups = inhibition_sources(routing.inhibit_rules, alerts)
    explained = []
    for alert in alerts:
        routed = explain_routing(
            alert, routing, directory.maintenance, facts, at, payload_groups=payload_groups
        )
        pages = [
            _page(alert, routed, landing, directory, at, covers) for landing in routed.landings
        ]
        explained.append(
            AlertExplanation(
                dedup_key=alert.dedup_key,
                status=alert.status,
                summary=alert.summary,
                labels=alert.labels,
                routing=routed,
                pages=pages,
            )
        )
    return _explanation(integration, at, explained, [], said)


def alerts_of(integration: Integration, payload: object, at: datetime) -> list[Alert]:
    """The alerts the payload becomes, none if it is not the integration's format: for a
    shell that asks the store about them before calling ``explain``."""
    try:
        return SOURCES[integration.type].parse(payload, integration, at)
    except PayloadError:
        return []


def _explanation(
    integration: Integration,
    at: datetime,
    alerts: list[AlertExplanation],
    errors: list[FieldProblem],
    notes: list[str],
) -> Explanation:
    return Explanation(
        integration=integration.name,
        source=integration.type,
        at=at,
        alerts=alerts,
        errors=errors,
        notes=notes,
    )


def _unchecked(routing: RoutingConfig, facts: Facts) -> list[str]:
    unknown = [
        what
        for what, known in (
            ("silences", facts.silences),
            ("inhibiting alerts", facts.firing_groups if routing.inhibit_rules else ()),
            ("open incidents", facts.open_incidents),
        )
        if known is None
    ]
    if not unknown:
        return []
    listed = ", ".join(unknown[:-1]) + " and " + unknown[-1] if len(unknown) > 1 else unknown[0]
    return [f"{listed} not checked: {facts.unchecked}"]


def _page(
    alert: Alert,
    routed: AlertRouting,
    landing: Landing,
    directory: Directory,
    at: datetime,
    covers: Mapping[str, Sequence[Cover]] | None,
) -> Page:
    level = directory.policies[landing.policy].levels[0]
    people = directory.resolve(level, at, covers=covers)
    when, why_not = _first_page(alert, routed, landing, directory, at)
    return Page(
        route=landing.route,
        policy=landing.policy,
        targets=[str(target) for target in level.targets],
        people=[_paged(directory, p, routed.severity) for p in people],
        now=when == at,
        at=when,
        why_not=why_not,
    )


def _first_page(
    alert: Alert, routed: AlertRouting, landing: Landing, directory: Directory, at: datetime
) -> tuple[datetime | None, str | None]:
    """When the first page would go out (``None``: not for this alert), and why not at the
    instant explained. The one place where rules about whether to page now belong, as
    ``Pager.page`` applies them."""
    if alert.status is AlertStatus.ACKNOWLEDGED:
        return (
            None,
            "an acknowledgement pages nobody (it acknowledges the incident the alert fires in)",
        )
    if not alert.is_firing:
        return None, "a resolved alert pages nobody (it resolves its incident)"
    if landing.joins is not None:
        # An incident pages when it opens; the alerts that join it later page nobody.
        joined = landing.joins
        return (
            None,
            f"joins open incident {joined.id} ({joined.status.value}), paged when it opened",
        )
    if routed.holds:
        return None, "held by " + ", ".join(f"{h.kind} {h.name}" for h in routed.holds)
    route = directory.routes.get(landing.route)
    hours = route.support_hours if route is not None else ()
    when = page_time(routed.severity, hours, at)
    if when is None:
        return None, f"{routed.severity.value} pages nobody (the incident is only recorded)"
    if when > at:
        return when, f"{routed.severity.value} outside support hours; pages at {when.isoformat()}"
    if route is not None and route.group_wait:
        wait = format_duration(route.group_wait)
        return (
            at + route.group_wait,
            f"pages after group_wait {wait}, with the alerts collected by then",
        )
    return at, None


def _paged(directory: Directory, person_id: str, severity: Severity) -> PagedPerson:
    person = directory.people.get(person_id)
    if person is None:
        return PagedPerson(id=person_id, name=person_id)
    steps = plan(person, severity)
    ways = steps if steps is not None else [(timedelta(0), methods(person))]
    return PagedPerson(
        id=person_id,
        name=person.name,
        by_rules=steps is not None,
        notify=[
            NotifyStep(after_seconds=int(after.total_seconds()), channels=channels)
            for after, channels in ways
        ],
    )
