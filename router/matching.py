"""Which route and which severity an alert gets: first matching rule wins."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingest.models import Alert
from router.config import Route, RoutingConfig, Severity, SeverityRule

DEFAULT_SEVERITY = Severity.SEV2
"""When no severity rule matches: serious enough to page, below the top."""


def matches(match: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(name) == value for name, value in match.items())


@dataclass(frozen=True)
class Placement:
    """Where an alert belongs: its route (and that route's position) and its severity."""

    route: Route
    route_name: str
    severity: Severity


def place(alert: Alert, config: RoutingConfig) -> Placement | None:
    """``None`` when no route matches: the alert is dropped (and counted) by the caller."""
    for index, route in enumerate(config.routes):
        if matches(route.match, alert.labels):
            return Placement(route, config.route_name(index), severity_of(alert, config.severity))
    return None


def severity_of(alert: Alert, rules: Sequence[SeverityRule]) -> Severity:
    for rule in rules:
        if matches(rule.match, alert.labels):
            return rule.level
    return DEFAULT_SEVERITY
