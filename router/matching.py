"""Which routes and which severity an alert gets.

Routes are walked as Alertmanager walks them: depth first, in the order written. At a route
that matches, the alert goes to its deepest matching descendants, or to the route itself
when no child matches. Among siblings the first match wins, unless it has ``continue``:
then the following siblings are tried too, and the alert lands on every route they yield.
Severity rules: the first that matches wins.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingest.models import Alert
from router.config import (
    Conditions,
    ResolvedRoute,
    RouteNode,
    RoutingConfig,
    Severity,
    SeverityRule,
)
from router.matchers import matches_all

DEFAULT_SEVERITY = Severity.SEV2
"""When no severity rule matches: serious enough to page, below the top."""
SOURCE_LABEL = "__source__"
"""Pseudo-label rules can test: the format the alert arrived in (``alertmanager``, ...)."""
INTEGRATION_LABEL = "__integration__"
"""Pseudo-label rules can test: the name of the integration the webhook arrived on."""


def rule_labels(alert: Alert) -> dict[str, str]:
    """The labels rules see: the alert's, and where it came from as pseudo-labels. These win
    over a label of the same name in the payload, so no sender can pass for another
    integration."""
    return {**alert.labels, SOURCE_LABEL: alert.source, INTEGRATION_LABEL: alert.integration}


def matches(match: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(name) == value for name, value in match.items())


def selects(conditions: Conditions, labels: Mapping[str, str]) -> bool:
    return matches(conditions.match, labels) and matches_all(conditions.matchers, labels)


@dataclass(frozen=True)
class Placement:
    """One place an alert belongs: a route, with what it inherited, and its severity."""

    route: ResolvedRoute
    severity: Severity


def place(alert: Alert, config: RoutingConfig) -> list[Placement]:
    """Every route the alert lands on, in tree order; empty when none matches (the caller
    drops the alert and counts it)."""
    labels = rule_labels(alert)
    routes = _deepest(config.tree, labels)
    if not routes:
        return []
    severity = _severity(labels, config.severity)
    return [Placement(route, severity) for route in routes]


def _deepest(siblings: Sequence[RouteNode], labels: Mapping[str, str]) -> list[ResolvedRoute]:
    found: list[ResolvedRoute] = []
    for node in siblings:
        if not selects(node.route, labels):
            continue
        found += _deepest(node.children, labels) or [node.resolved]
        if not node.route.continue_:
            break
    return found


def severity_of(alert: Alert, rules: Sequence[SeverityRule]) -> Severity:
    return _severity(rule_labels(alert), rules)


def _severity(labels: Mapping[str, str], rules: Sequence[SeverityRule]) -> Severity:
    for rule in rules:
        if selects(rule, labels):
            return rule.level
    return DEFAULT_SEVERITY
