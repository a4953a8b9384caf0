"""The list filters' query parsing: every status a query may name, and refusals that name
the parameter."""

import pytest

from router.config import Severity
from router.models import IncidentStatus
from tocsin.incident_filter import STATUSES, BadFilter, IncidentFilter, parse_filter


def test_no_filter_is_everything() -> None:
    assert parse_filter({"limit": "5"}) == IncidentFilter()
    assert parse_filter({}).everything


@pytest.mark.parametrize(
    ("status", "statuses"),
    [
        ("open", {IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED}),
        ("triggered", {IncidentStatus.TRIGGERED}),
        ("acknowledged", {IncidentStatus.ACKNOWLEDGED}),
        ("resolved", {IncidentStatus.RESOLVED}),
    ],
)
def test_each_status(status: str, statuses: set[IncidentStatus]) -> None:
    assert parse_filter({"status": status}).statuses == statuses


def test_severity_and_route() -> None:
    chosen = parse_filter({"severity": "SEV2", "route": "db"})
    assert (chosen.severity, chosen.route, chosen.everything) == (Severity.SEV2, "db", False)


@pytest.mark.parametrize(
    ("query", "named"),
    [({"status": "Open"}, "status"), ({"status": ""}, "status"), ({"severity": "1"}, "severity")],
)
def test_a_value_no_incident_has_is_refused_by_name(query: dict[str, str], named: str) -> None:
    with pytest.raises(BadFilter, match=f"^{named} must be one of"):
        parse_filter(query)


def test_every_status_is_offered() -> None:
    assert set(STATUSES) == {"open", *IncidentStatus}
