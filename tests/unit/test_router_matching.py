"""Route and severity selection: the route tree walked as Alertmanager walks it, severity
rules first match wins."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ingest.models import Alert, AlertStatus
from router.config import MAX_ROUTE_DEPTH, ResolvedRoute, Route, RoutingConfig, Severity, walk
from router.config import SeverityRule as Rule
from router.matching import DEFAULT_SEVERITY, matches, place, severity_of

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

labels_strategy = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6)


def alert(integration: str = "prom", source: str = "generic", **labels: str) -> Alert:
    return Alert(
        dedup_key="k",
        status=AlertStatus.FIRING,
        summary="disk full",
        labels=labels,
        integration=integration,
        source=source,
        received_at=NOW,
    )


def routing(*routes: dict[str, Any], severity: list[Rule] | None = None) -> RoutingConfig:
    """Routes as the YAML file writes them (``continue`` is a Python keyword)."""
    return RoutingConfig.model_validate({"routes": list(routes), "severity": severity or []})


def landed(a: Alert, config: RoutingConfig) -> list[str]:
    return [placement.route.name for placement in place(a, config)]


# --- one level: first match wins, as before ---------------------------------------------


def test_first_matching_route_wins() -> None:
    config = RoutingConfig(
        routes=[
            Route(name="db", match={"team": "db"}, policy="db-oncall"),
            Route(name="db-prod", match={"team": "db", "env": "prod"}, policy="never"),
            Route(name="fallback", policy="default"),
        ]
    )
    (placement,) = place(alert(team="db", env="prod"), config)
    assert placement.route.name == "db"
    assert placement.route.policy == "db-oncall"

    (other,) = place(alert(team="web"), config)
    assert other.route == config.tree[2].resolved


def test_a_route_is_skipped_until_all_its_labels_match() -> None:
    config = RoutingConfig(
        routes=[
            Route(name="db-prod", match={"team": "db", "env": "prod"}, policy="p1"),
            Route(name="db", match={"team": "db"}, policy="p2"),
        ]
    )
    assert landed(alert(team="db", env="staging"), config) == ["db"]


@given(labels_strategy)
def test_empty_match_matches_every_alert(labels: dict[str, str]) -> None:
    assert matches({}, labels)
    assert landed(alert(**labels), RoutingConfig(routes=[Route(policy="p")])) == ["route-1"]


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


def test_no_matching_route_places_nowhere() -> None:
    config = RoutingConfig(routes=[Route(match={"team": "db"}, policy="p")])
    assert place(alert(team="web"), config) == []
    assert place(alert(), config) == []
    assert place(alert(team="db"), RoutingConfig(routes=[])) == []


# --- matchers in routes -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    alert: Alert
    expected: list[str]


MATCHERS = routing(
    {"name": "urgent", "matchers": ['severity=~"critical|error"', "env!=staging"], "policy": "p"},
    {"name": "both", "match": {"team": "db"}, "matchers": ['env=~"prod|preprod"'], "policy": "p"},
    {"name": "from-am", "matchers": ["__source__=alertmanager"], "policy": "p"},
    {"name": "from-billing", "matchers": ['__integration__=~"billing-.*"'], "policy": "p"},
    {"name": "rest", "policy": "p"},
)

MATCHER_CASES = {
    "regex and not-equal both hold": Case(alert(severity="error", env="prod"), ["urgent"]),
    "a missing label is not staging": Case(alert(severity="critical"), ["urgent"]),
    "not-equal fails": Case(alert(severity="critical", env="staging"), ["rest"]),
    "the regex matches the whole value": Case(alert(severity="critical-ish"), ["rest"]),
    "match and matchers together": Case(alert(team="db", env="preprod"), ["both"]),
    "match holds, matchers do not": Case(alert(team="db", env="dev"), ["rest"]),
    "matchers hold, match does not": Case(alert(team="web", env="prod"), ["rest"]),
    "the source pseudo-label": Case(alert(source="alertmanager"), ["from-am"]),
    "the integration pseudo-label": Case(alert(integration="billing-eu"), ["from-billing"]),
    "a payload cannot pose as another integration": Case(
        alert(integration="custom", __integration__="billing-eu"), ["rest"]
    ),
}


@pytest.mark.parametrize("case", MATCHER_CASES.values(), ids=MATCHER_CASES.keys())
def test_route_matchers(case: Case) -> None:
    assert landed(case.alert, MATCHERS) == case.expected


# --- the route tree -------------------------------------------------------------------------

TREE = routing(
    {"name": "audit", "matchers": ["__integration__=prod-am"], "policy": "audit", "continue": True},
    {
        "name": "db",
        "match": {"team": "db"},
        "policy": "db",
        "group_by": ["cluster"],
        "group_wait": "30s",
        "group_interval": "5m",
        "service": "Database",
        "storm_limit": 50,
        "routes": [
            {"name": "db-urgent", "matchers": ['severity=~"critical|error"'], "policy": "db-24x7"},
            {
                "matchers": ["env!=prod"],
                "group_by": ["..."],
                "group_interval": "1h",
                "storm_limit": 5,
            },
        ],
    },
    {
        "name": "web",
        "match": {"team": "web"},
        "policy": "web",
        "continue": True,
        "routes": [
            {"name": "web-eu", "matchers": ['region=~"eu-.*"'], "continue": True},
            {"name": "web-prod", "match": {"env": "prod"}, "service": "Storefront"},
        ],
    },
    {"name": "fallback", "policy": "default"},
)

TREE_CASES = {
    "the deepest matching child": Case(alert(team="db", severity="critical"), ["db-urgent"]),
    "a later child when the first does not match": Case(
        alert(team="db", severity="warning", env="dev"), ["db.2"]
    ),
    "the parent itself when no child matches": Case(
        alert(team="db", severity="warning", env="prod"), ["db"]
    ),
    "the first matching sibling wins": Case(
        alert(team="db", severity="critical", env="dev"), ["db-urgent"]
    ),
    "continue goes on to the following siblings": Case(
        alert(integration="prod-am", team="db", severity="error"), ["audit", "db-urgent"]
    ),
    "continue at the top level reaches the fallback": Case(
        alert(integration="prod-am", team="ops"), ["audit", "fallback"]
    ),
    "continue among children, then among parents": Case(
        alert(team="web", region="eu-west", env="prod"), ["web-eu", "web-prod", "fallback"]
    ),
    "a continuing parent with no matching child": Case(
        alert(team="web", region="us-east"), ["web", "fallback"]
    ),
    "continue after a child matched": Case(
        alert(team="web", region="us-east", env="prod"), ["web-prod", "fallback"]
    ),
    "nothing special": Case(alert(team="ops"), ["fallback"]),
}


@pytest.mark.parametrize("case", TREE_CASES.values(), ids=TREE_CASES.keys())
def test_the_route_tree(case: Case) -> None:
    assert landed(case.alert, TREE) == case.expected


def test_children_inherit_what_they_do_not_set() -> None:
    resolved = {node.resolved.name: node.resolved for node in walk(TREE.tree)}

    assert resolved["db-urgent"] == ResolvedRoute(
        name="db-urgent",
        policy="db-24x7",
        group_by=("cluster",),
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(minutes=5),
        service="Database",
        storm_limit=50,
    )
    assert resolved["db.2"] == ResolvedRoute(
        name="db.2",
        policy="db",
        group_by=None,  # ['...']: each alert alone, although the parent groups
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(hours=1),
        service="Database",
        storm_limit=5,
    )
    assert resolved["web-prod"].service == "Storefront"
    assert resolved["web-eu"].service is None
    assert resolved["web-eu"].policy == "web"
    assert resolved["fallback"].group_by is None
    assert resolved["fallback"].group_wait is None
    assert resolved["fallback"].storm_limit is None


def test_the_reopen_window_is_the_configuration_s_unless_a_route_or_parent_sets_one() -> None:
    config = RoutingConfig.model_validate(
        {
            "reopen_window": timedelta(minutes=10),
            "routes": [
                {"name": "db", "policy": "db", "reopen_window": "1h", "routes": [{"name": "c"}]},
                {"name": "rest", "policy": "default"},
            ],
        }
    )
    windows = {node.resolved.name: node.resolved.reopen_window for node in walk(config.tree)}

    assert windows == {
        "db": timedelta(hours=1),
        "c": timedelta(hours=1),
        "rest": timedelta(minutes=10),
    }
    assert TREE.tree[0].resolved.reopen_window == timedelta(minutes=5)


def test_group_by_dots_means_each_alert_alone_as_no_group_by_does() -> None:
    config = routing(
        {"name": "dots", "match": {"a": "1"}, "policy": "p", "group_by": ["..."]},
        {"name": "none", "policy": "p"},
    )
    assert [node.resolved.group_by for node in config.tree] == [None, None]


def test_every_alert_of_a_route_together_is_an_empty_group_by() -> None:
    config = routing({"policy": "p", "group_by": [], "routes": [{"match": {"a": "1"}}]})
    assert config.tree[0].children[0].resolved.group_by == ()


def test_default_names_follow_the_tree() -> None:
    config = routing(
        {"match": {"a": "1"}, "policy": "p", "routes": [{}, {"routes": [{}]}]},
        {"name": "db", "policy": "p", "routes": [{"match": {"a": "1"}}, {"name": "named"}]},
        {"policy": "p"},
    )
    names = [
        [node.resolved.name, [child.resolved.name for child in node.children]]
        for node in config.tree
    ]
    assert names == [
        ["route-1", ["route-1.1", "route-1.2"]],
        ["db", ["db.1", "named"]],
        ["route-3", []],
    ]
    assert config.tree[0].children[1].children[0].resolved.name == "route-1.2.1"


def test_route_names_are_unique_across_the_tree() -> None:
    with pytest.raises(
        ValidationError,
        match=r"routes\[1\]\.name: 'route-1\.1' is already the "
        r"name of routes\[0\]\.routes\[0\]",
    ):
        routing({"policy": "p", "routes": [{}]}, {"name": "route-1.1", "policy": "p"})


def test_a_top_level_route_needs_a_policy_a_child_inherits_it() -> None:
    with pytest.raises(ValidationError, match=r"routes\[0\]\.policy: required"):
        routing({"routes": [{"policy": "p"}]})
    assert routing({"policy": "p", "routes": [{}]}).tree[0].children[0].resolved.policy == "p"


def nested(depth: int) -> dict[str, Any]:
    """A top-level route with ``depth`` levels of children below it."""
    route: dict[str, Any] = {"name": f"level-{depth}"}
    for level in reversed(range(depth)):
        route = {"name": f"level-{level}", "routes": [route]}
    return {**route, "policy": "p"}


def test_routes_nest_to_a_bounded_depth() -> None:
    deepest = routing(nested(MAX_ROUTE_DEPTH))
    assert landed(alert(), deepest) == [f"level-{MAX_ROUTE_DEPTH}"]
    loc = r"\.routes\[0\]" * MAX_ROUTE_DEPTH
    with pytest.raises(ValidationError, match=rf"routes\[0\]{loc}\.routes: routes nest at most"):
        routing(nested(MAX_ROUTE_DEPTH + 1))


def test_dots_cannot_be_combined_with_labels() -> None:
    with pytest.raises(ValidationError, match="cannot be combined with label names"):
        routing({"policy": "p", "group_by": ["...", "env"]})


# --- severity -------------------------------------------------------------------------------

SEVERITY_RULES = [
    Rule(match={"severity": "critical"}, level=Severity.SEV1),
    Rule(match={"team": "db"}, level=Severity.SEV3),
    Rule(match={"severity": "critical", "team": "db"}, level=Severity.SEV4),
]


def test_severity_first_matching_rule_wins() -> None:
    assert severity_of(alert(severity="critical", team="db"), SEVERITY_RULES) is Severity.SEV1
    assert severity_of(alert(team="db"), SEVERITY_RULES) is Severity.SEV3


def test_severity_defaults_to_sev2() -> None:
    assert DEFAULT_SEVERITY is Severity.SEV2
    assert severity_of(alert(severity="warning"), SEVERITY_RULES) is Severity.SEV2
    assert severity_of(alert(severity="critical"), []) is Severity.SEV2


MATCHER_RULES = [
    Rule.model_validate({"matchers": ['severity=~"(?i:critical|p1)"'], "level": "SEV1"}),
    Rule.model_validate({"matchers": ["__source__=generic", "env!=prod"], "level": "SEV4"}),
    Rule.model_validate({"match": {"team": "db"}, "matchers": ['env=~"prod.*"'], "level": "SEV3"}),
    Rule.model_validate({"match": {"severity": "error"}, "level": "SEV2"}),
]

SEVERITY_CASES = {
    "a regex, any case": (alert(severity="Critical"), Severity.SEV1),
    "another value of the same regex": (alert(severity="P1", team="db"), Severity.SEV1),
    "the whole value only": (alert(severity="P10", env="prod"), Severity.SEV2),
    "pseudo-label and not-equal": (alert(severity="info"), Severity.SEV4),
    "match and matchers together": (
        alert(source="alertmanager", team="db", env="production"),
        Severity.SEV3,
    ),
    "a plain match still works": (alert(source="alertmanager", severity="error"), Severity.SEV2),
    "no rule: the default": (alert(source="alertmanager", env="prod"), DEFAULT_SEVERITY),
}


@pytest.mark.parametrize(("sample", "level"), SEVERITY_CASES.values(), ids=SEVERITY_CASES.keys())
def test_severity_rules_with_matchers(sample: Alert, level: Severity) -> None:
    assert severity_of(sample, MATCHER_RULES) is level


def test_every_placement_carries_the_severity() -> None:
    config = routing(
        {"name": "a", "policy": "p", "continue": True},
        {"name": "b", "policy": "p"},
        severity=SEVERITY_RULES,
    )
    assert [p.severity for p in place(alert(severity="critical"), config)] == [Severity.SEV1] * 2
    assert [p.severity for p in place(alert(), config)] == [Severity.SEV2] * 2
