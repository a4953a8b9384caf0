"""Why an alert goes where it goes: the routes tried and what stopped each one that did not
match, where it lands (its group, its severity and the rule that gave it), and what would
hold its page at an instant. For ``tocsin explain`` and ``tocsin test routes``.

Pure. Where it lands is ``router.matching.place``'s answer, not worked out again: the trace
only tells the story of that answer (a property test holds the two together). What holds a
page is read as the notifier reads it: silences and maintenance windows against the alert's
own labels, inhibition by the groups whose source alerts fire. The store's answers are
passed in (``Facts``); sources firing in the same payload count too, as the router stores
them before the page is sent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ingest.models import Alert
from router.config import Conditions, RouteNode, RoutingConfig, Severity
from router.grouping import group_key, group_labels
from router.inhibition import InhibitRule, source_groups, target_groups
from router.maintenance import MaintenanceWindow
from router.matching import Placement, place, rule_labels, selects, severity_of
from router.models import Incident, IncidentStatus
from router.silences import Silence, holding


@dataclass(frozen=True)
class Facts:
    """What only the store knows. ``None``: not checked, and ``unchecked`` says why."""

    silences: Sequence[Silence] | None = None
    firing_groups: frozenset[str] | None = None
    """Inhibition groups (``InhibitRule.group``) with a firing source alert in the store."""
    open_incidents: Mapping[str, Incident] | None = None
    """The open incident of a group key, where the store has one: an alert joins it."""
    unchecked: str = "no store"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteCheck(_Model):
    """One route tried, in the order the router tries them."""

    route: str
    depth: int
    """0 for a top-level route, 1 for its children, ..."""
    matched: bool
    why_not: str | None = None
    """The first condition the alert fails, as written: ``match service="payments" (the
    alert has "db")``."""
    continues: bool = False
    """It matched and has ``continue: true``: the routes after it are tried too."""


class OpenIncident(_Model):
    id: str
    status: IncidentStatus


class Landing(_Model):
    """A route the alert lands on, as the router acts on it."""

    route: str
    policy: str
    service: str | None
    group_key: str
    group_labels: dict[str, str] | None
    """``None``: every distinct alert is its own incident (no ``group_by``, or ``'...'``)."""
    joins: OpenIncident | None = None
    """The open incident of its group, which it joins; ``None``: it would open one (or the
    store was not asked)."""


class Hold(_Model):
    """Something that would hold the alert's page."""

    kind: Literal["maintenance", "silence", "inhibition"]
    name: str
    """The window's name, the silence's id, or the rule's place: ``inhibit_rules[0]``."""
    detail: str
    until: datetime | None
    """When it ends; ``None`` for inhibition, which lasts while its source fires."""


class AlertRouting(_Model):
    checks: list[RouteCheck]
    landings: list[Landing]
    """Empty: no top-level route matches, and the router drops the alert (unrouted)."""
    severity: Severity
    severity_rule: int | None
    """Index into ``severity``; ``None``: no rule matched, the default applies."""
    holds: list[Hold]


def explain_routing(
    alert: Alert,
    routing: RoutingConfig,
    maintenance: Sequence[MaintenanceWindow],
    facts: Facts,
    at: datetime,
    payload_groups: frozenset[str] = frozenset(),
) -> AlertRouting:
    """``payload_groups``: the inhibition groups that alerts firing in the same payload are
    sources of (``inhibition_sources``). The severity is ``severity_of``'s; ``severity_rule``
    says which rule gave it."""
    labels = rule_labels(alert)
    placements = place(alert, routing)
    rule = next((i for i, r in enumerate(routing.severity) if selects(r, labels)), None)
    return AlertRouting(
        checks=_trace(routing.tree, labels),
        landings=[_landing(alert, p, facts.open_incidents or {}) for p in placements],
        severity=severity_of(alert, routing.severity),
        severity_rule=rule,
        holds=_holds(alert, routing.inhibit_rules, maintenance, facts, at, payload_groups),
    )


def group_keys(alert: Alert, routing: RoutingConfig) -> list[str]:
    """The groups of the routes the alert lands on: what to ask the store about."""
    return [group_key(alert, placement.route) for placement in place(alert, routing)]


def _landing(alert: Alert, placement: Placement, open_incidents: Mapping[str, Incident]) -> Landing:
    route = placement.route
    key = group_key(alert, route)
    found = open_incidents.get(key)
    return Landing(
        route=route.name,
        policy=route.policy,
        service=route.service,
        group_key=key,
        group_labels=None if route.group_by is None else group_labels(alert, route),
        joins=None if found is None else OpenIncident(id=found.id, status=found.status),
    )


def inhibition_sources(rules: Sequence[InhibitRule], alerts: Sequence[Alert]) -> frozenset[str]:
    """The groups the firing alerts of one payload inhibit."""
    return frozenset(
        group for alert in alerts if alert.is_firing for group in source_groups(rules, alert.labels)
    )


def _trace(siblings: Sequence[RouteNode], labels: Mapping[str, str]) -> list[RouteCheck]:
    """The walk of ``router.matching._deepest``, told route by route."""
    checks: list[RouteCheck] = []
    for node in siblings:
        name, depth = node.resolved.name, node.depth
        why_not = first_miss(node.route, labels)
        if why_not is not None:
            checks.append(RouteCheck(route=name, depth=depth, matched=False, why_not=why_not))
            continue
        continues = node.route.continue_
        checks.append(RouteCheck(route=name, depth=depth, matched=True, continues=continues))
        checks += _trace(node.children, labels)
        if not continues:
            break
    return checks


def first_miss(conditions: Conditions, labels: Mapping[str, str]) -> str | None:
    """The first condition, in the order written, that the labels fail; ``None`` if none."""
    for name, value in conditions.match.items():
        if labels.get(name) != value:
            return f"match {name}={_quoted(value)} ({_has(labels, name)})"
    for matcher in conditions.matchers:
        if not matcher.matches(labels):
            return f"{matcher} ({_has(labels, matcher.name)})"
    return None


def _has(labels: Mapping[str, str], name: str) -> str:
    value = labels.get(name)
    return f"the alert has no {name}" if value is None else f"the alert has {_quoted(value)}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _holds(
    alert: Alert,
    rules: Sequence[InhibitRule],
    maintenance: Sequence[MaintenanceWindow],
    facts: Facts,
    at: datetime,
    payload_groups: frozenset[str],
) -> list[Hold]:
    holds: list[Hold] = []
    for window in maintenance:
        silence = window.silence_at(at)
        if silence is not None and silence.holds(alert.labels, at):
            detail = f"{', '.join(window.matchers)}; {window.start}-{window.end} {window.timezone}"
            holds.append(
                Hold(kind="maintenance", name=window.name, detail=detail, until=silence.ends_at)
            )
    silence = holding(facts.silences or (), alert.labels, at)
    if silence is not None:
        detail = f"{silence.created_by}: {silence.comment}"
        holds.append(Hold(kind="silence", name=silence.id, detail=detail, until=silence.ends_at))
    firing = payload_groups | (facts.firing_groups or frozenset())
    targets = set(target_groups(rules, alert.labels))
    for index, rule in enumerate(rules):
        group = rule.group(alert.labels)
        if group in targets and group in firing:
            where = "this payload" if group in payload_groups else "the store"
            sources = ", ".join(rule.source_matchers)
            detail = f"a source alert ({sources}) fires in {where}"
            if rule.equal:
                detail += f" with the same {', '.join(rule.equal)}"
            holds.append(
                Hold(kind="inhibition", name=f"inhibit_rules[{index}]", detail=detail, until=None)
            )
    return holds
