"""Route and severity selection: first matching rule wins."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ingest.models import Alert, AlertStatus
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.matching import DEFAULT_SEVERITY, matches, place, severity_of

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

labels_strategy = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6)


def alert(**labels: str) -> Alert:
    return Alert(
        dedup_key="k",
        status=AlertStatus.FIRING,
        summary="disk full",
        labels=labels,
        integration="prom",
        source="generic",
        received_at=NOW,
    )


def test_first_matching_route_wins() -> None:
    config = RoutingConfig(
        routes=[
            Route(name="db", match={"team": "db"}, policy="db-oncall"),
            Route(name="db-prod", match={"team": "db", "env": "prod"}, policy="never"),
            Route(name="fallback", policy="default"),
        ]
    )
    placement = place(alert(team="db", env="prod"), config)
    assert placement is not None
    assert placement.route_name == "db"
    assert placement.route.policy == "db-oncall"

    other = place(alert(team="web"), config)
    assert other is not None
    assert other.route_name == "fallback"
    assert other.route is config.routes[2]


def test_a_route_is_skipped_until_all_its_labels_match() -> None:
    config = RoutingConfig(
        routes=[
            Route(name="db-prod", match={"team": "db", "env": "prod"}, policy="p1"),
            Route(name="db", match={"team": "db"}, policy="p2"),
        ]
    )
    placement = place(alert(team="db", env="staging"), config)
    assert placement is not None
    assert placement.route_name == "db"


@given(labels_strategy)
def test_empty_match_matches_every_alert(labels: dict[str, str]) -> None:
    assert matches({}, labels)
    placement = place(alert(**labels), RoutingConfig(routes=[Route(policy="p")]))
    assert placement is not None


@given(labels_strategy)
def test_a_match_equal_to_the_labels_or_a_subset_of_them_matches(labels: dict[str, str]) -> None:
    assert matches(labels, labels)
    subset = dict(list(labels.items())[: len(labels) // 2])
    assert matches(subset, labels)


def test_label_values_match_exactly() -> None:
    match = {"env": "prod"}
    assert matches(match, {"env": "prod"})
    assert matches(match, {"env": "prod", "team": "db"})
    assert not matches(match, {"env": "production"})
    assert not matches(match, {"env": "Prod"})
    assert not matches(match, {"env": "prod "})
    assert not matches(match, {"env": ""})
    assert not matches(match, {})
    assert not matches(match, {"ENV": "prod"})


def test_an_empty_value_does_not_match_a_missing_label() -> None:
    assert matches({"env": ""}, {"env": ""})
    assert not matches({"env": ""}, {})


def test_no_matching_route_gives_none() -> None:
    config = RoutingConfig(routes=[Route(match={"team": "db"}, policy="p")])
    assert place(alert(team="web"), config) is None
    assert place(alert(), config) is None
    assert place(alert(team="db"), RoutingConfig(routes=[])) is None


SEVERITY_RULES = [
    SeverityRule(match={"severity": "critical"}, level=Severity.SEV1),
    SeverityRule(match={"team": "db"}, level=Severity.SEV3),
    SeverityRule(match={"severity": "critical", "team": "db"}, level=Severity.SEV4),
]


def test_severity_first_matching_rule_wins() -> None:
    assert severity_of(alert(severity="critical", team="db"), SEVERITY_RULES) is Severity.SEV1
    assert severity_of(alert(team="db"), SEVERITY_RULES) is Severity.SEV3


def test_severity_defaults_to_sev2() -> None:
    assert DEFAULT_SEVERITY is Severity.SEV2
    assert severity_of(alert(severity="warning"), SEVERITY_RULES) is Severity.SEV2
    assert severity_of(alert(severity="critical"), []) is Severity.SEV2


def test_placement_carries_the_severity() -> None:
    config = RoutingConfig(routes=[Route(policy="p")], severity=SEVERITY_RULES)
    critical = place(alert(severity="critical"), config)
    plain = place(alert(), config)
    assert critical is not None
    assert plain is not None
    assert critical.severity is Severity.SEV1
    assert plain.severity is Severity.SEV2


def test_route_name_defaults_to_its_one_based_position() -> None:
    config = RoutingConfig(
        routes=[
            Route(name="db", match={"team": "db"}, policy="p"),
            Route(match={"team": "web"}, policy="p"),
            Route(policy="p"),
        ]
    )
    assert [config.route_name(i) for i in range(3)] == ["db", "route-2", "route-3"]
    web = place(alert(team="web"), config)
    other = place(alert(team="ops"), config)
    assert web is not None
    assert other is not None
    assert web.route_name == "route-2"
    assert other.route_name == "route-3"
