"""The explain core: a payload told whole, from the alerts it becomes to who is paged, and
the route trace held to the router's own answer."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.config import Integration, pick_integration
from ingest.models import Alert, AlertStatus
from notifier.explain import Explanation, PagedPerson, explain
from router.config import RoutingConfig, Severity, walk
from router.explain import Facts, RouteCheck, explain_routing, first_miss
from router.grouping import group_key
from router.matching import place, rule_labels, severity_of
from router.models import Incident, IncidentStatus
from router.silences import Silence, SilenceMatcher
from schedules.models import Schedule
from tocsin.config import LoadedConfig, TocsinConfig
from tocsin.explain_text import notify_text

AT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday, 04:00 in Berlin
AM = Integration(name="prod-am", type="alertmanager", token="s3cret")
GENERIC = Integration(name="custom", type="generic", token="t0ken")

CONFIG: dict[str, Any] = {
    "integrations": [AM.model_dump(), GENERIC.model_dump()],
    "people": {"alice": {"name": "Alice"}, "bob": {"name": "Bob"}, "dba": {"name": "Dee"}},
    "escalation_policies": {
        "payments": {"levels": [{"targets": ["schedule:primary"], "ack_timeout": "5m"}]},
        "dbas": {"levels": [{"targets": ["person:dba", "schedule:primary"], "ack_timeout": "5m"}]},
        "audit": {"levels": [{"targets": ["person:bob"], "ack_timeout": "5m"}]},
    },
    "routes": [
        {"name": "audit", "match": {"env": "prod"}, "policy": "audit", "continue": True},
        {
            "name": "payments",
            "match": {"service": "payments"},
            "policy": "payments",
            "group_by": ["cluster"],
            "routes": [
                {"name": "payments-db", "matchers": ['component=~"db|pg"'], "policy": "dbas"},
                {"name": "checkout", "matchers": ["team=checkout"]},
            ],
        },
        {"name": "web", "matchers": ["team=web", 'env!="staging"'], "policy": "payments"},
    ],
    "severity": [
        {"match": {"severity": "critical"}, "level": "SEV1"},
        {"matchers": ['severity=~"warning|info"'], "level": "SEV3"},
    ],
    "maintenance_windows": [
        {
            "name": "db-upgrade",
            "matchers": ["component=db"],
            "timezone": "Europe/Berlin",
            "days": ["mon"],
            "start": "03:00",
            "end": "05:00",
        }
    ],
    "inhibit_rules": [
        {
            "source_matchers": ["alertname=ClusterDown"],
            "target_matchers": ["severity=warning"],
            "equal": ["cluster"],
        }
    ],
}
# Weekly from Monday 2026-01-05 09:00 UTC: alice, then bob (on call at AT).
PRIMARY = Schedule.model_validate(
    {
        "name": "primary",
        "timezone": "UTC",
        "rotation": {"every": "1w", "handoff": "2026-01-05 09:00", "members": ["alice", "bob"]},
    }
)
LOADED = LoadedConfig(
    path=Path("tocsin.yaml"),
    config=TocsinConfig.model_validate(CONFIG),
    schedules={"primary": PRIMARY},
)
ROUTING = LOADED.routing


def am(*alerts: dict[str, str], status: str = "firing") -> dict[str, Any]:
    """An Alertmanager notification of alerts with these labels."""
    return {
        "version": "4",
        "status": status,
        "alerts": [{"status": status, "labels": labels} for labels in alerts],
    }


def told(
    payload: object,
    *,
    at: datetime = AT,
    facts: Facts | None = None,
    integration: Integration = AM,
) -> Explanation:
    return explain(ROUTING, LOADED.directory, integration, payload, at, facts or Facts())


def routes_of(explanation: Explanation) -> list[list[str]]:
    return [[page.route for page in alert.pages] for alert in explanation.alerts]


@pytest.mark.parametrize(
    ("labels", "routes", "severity", "rule", "paged"),
    [
        # Nested: the deepest matching child wins, with the parent's group_by.
        (
            {"service": "payments", "component": "pg", "severity": "critical"},
            ["payments-db"],
            Severity.SEV1,
            0,
            [["dba", "bob"]],
        ),
        # A child that inherits its parent's policy.
        (
            {"service": "payments", "team": "checkout"},
            ["checkout"],
            Severity.SEV2,
            None,
            [["bob"]],
        ),
        # No child matches: the parent itself.
        ({"service": "payments", "severity": "info"}, ["payments"], Severity.SEV3, 1, [["bob"]]),
        # continue: the audit route and the next match, each paged by its own policy.
        (
            {"env": "prod", "service": "payments"},
            ["audit", "payments"],
            Severity.SEV2,
            None,
            [["bob"], ["bob"]],
        ),
        # Unrouted: no route, nobody paged.
        ({"team": "web", "env": "staging"}, [], Severity.SEV2, None, []),
    ],
)
def test_where_an_alert_lands_and_who_is_paged(
    labels: dict[str, str],
    routes: list[str],
    severity: Severity,
    rule: int | None,
    paged: list[list[str]],
) -> None:
    (alert,) = told(am(labels)).alerts

    assert [page.route for page in alert.pages] == routes
    assert alert.routing.severity is severity
    assert alert.routing.severity_rule == rule
    assert [[p.id for p in page.people] for page in alert.pages] == paged
    assert all(page.now for page in alert.pages)


def test_the_trace_says_which_route_matched_at_each_depth_and_why_others_did_not() -> None:
    (alert,) = told(am({"service": "payments", "team": "checkout", "env": "dev"})).alerts

    assert alert.routing.checks == [
        RouteCheck(
            route="audit", depth=0, matched=False, why_not='match env="prod" (the alert has "dev")'
        ),
        RouteCheck(route="payments", depth=0, matched=True),
        RouteCheck(
            route="payments-db",
            depth=1,
            matched=False,
            why_not='component=~"db|pg" (the alert has no component)',
        ),
        RouteCheck(route="checkout", depth=1, matched=True),
        # "web" is not tried: "payments" matched without continue.
    ]


def test_continue_is_in_the_trace() -> None:
    (alert,) = told(am({"env": "prod", "team": "web"})).alerts

    assert [(c.route, c.matched, c.continues) for c in alert.routing.checks] == [
        ("audit", True, True),
        ("payments", False, False),
        ("web", True, False),
    ]


def test_group_key_and_labels_are_the_routers() -> None:
    labels = {"service": "payments", "cluster": "eu1", "alertname": "Down"}
    (alert,) = told(am(labels)).alerts

    (landing,) = alert.routing.landings
    assert landing.group_labels == {"cluster": "eu1"}
    (placement,) = place(_alert(labels), ROUTING)
    assert landing.group_key == group_key(_alert(labels), placement.route)
    # Without group_by every alert is alone: no group labels.
    (web,) = told(am({"team": "web"})).alerts
    assert web.routing.landings[0].group_labels is None


def test_a_maintenance_window_holds_the_page_at_its_hours_only() -> None:
    labels = {"service": "payments", "component": "db"}
    (held,) = told(am(labels)).alerts  # Monday 04:00 Berlin, inside 03:00-05:00

    (hold,) = held.routing.holds
    assert (hold.kind, hold.name) == ("maintenance", "db-upgrade")
    assert hold.until == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    (page,) = held.pages
    assert not page.now
    assert page.why_not == "held by maintenance db-upgrade"
    assert [p.id for p in page.people] == ["dba", "bob"]  # who it would page

    (later,) = told(am(labels), at=AT + timedelta(hours=2)).alerts
    assert later.routing.holds == []
    assert later.pages[0].now


def test_a_silence_passed_in_holds_the_page_while_active() -> None:
    silence = Silence(
        id="s-1",
        matchers=[SilenceMatcher(name="team", value="web", is_regex=False)],
        starts_at=AT - timedelta(hours=1),
        ends_at=AT + timedelta(hours=1),
        created_by="carol",
        comment="deploy",
    )
    facts = Facts(silences=[silence], firing_groups=frozenset(), open_incidents={})

    (alert,) = told(am({"team": "web"}), facts=facts).alerts
    (hold,) = alert.routing.holds
    assert (hold.kind, hold.name, hold.detail) == ("silence", "s-1", "carol: deploy")
    assert not alert.pages[0].now
    assert told(am({"team": "web"}), facts=facts).notes == []

    (after,) = told(am({"team": "web"}), facts=facts, at=AT + timedelta(hours=1)).alerts
    assert after.routing.holds == []


def test_inhibition_by_a_source_in_the_store_or_in_the_same_payload() -> None:
    target = {"team": "web", "severity": "warning", "cluster": "eu1"}
    source = {"alertname": "ClusterDown", "cluster": "eu1", "team": "web"}
    rule = ROUTING.inhibit_rules[0]

    (alone,) = told(am(target), facts=Facts(silences=[], firing_groups=frozenset())).alerts
    assert alone.routing.holds == []

    stored = Facts(silences=[], firing_groups=frozenset({rule.group(target)}))
    (held,) = told(am(target), facts=stored).alerts
    assert [(h.kind, h.name) for h in held.routing.holds] == [("inhibition", "inhibit_rules[0]")]
    assert "fires in the store with the same cluster" in held.routing.holds[0].detail

    both = told(am(source, target)).alerts
    assert both[0].routing.holds == []  # never its own target
    assert "fires in this payload" in both[1].routing.holds[0].detail
    # Another cluster's source holds nothing.
    other = told(am({**source, "cluster": "us1"}, target)).alerts
    assert other[1].routing.holds == []


def test_an_alert_that_joins_an_open_incident_pages_nobody() -> None:
    labels = {"service": "payments", "cluster": "eu1"}
    (landing,) = told(am(labels)).alerts[0].routing.landings
    incident = Incident(
        id="7",
        title="t",
        status=IncidentStatus.ACKNOWLEDGED,
        severity=Severity.SEV2,
        route="payments",
        policy="payments",
        group_key=landing.group_key,
        created_at=AT,
    )
    facts = Facts(
        silences=[], firing_groups=frozenset(), open_incidents={incident.group_key: incident}
    )

    (alert,) = told(am(labels), facts=facts).alerts
    (page,) = alert.pages
    assert not page.now
    assert page.why_not == "joins open incident 7 (acknowledged), paged when it opened"
    # Another cluster is another group: it opens its own incident, and pages.
    (other,) = told(am({**labels, "cluster": "us1"}), facts=facts).alerts
    assert other.routing.landings[0].joins is None
    assert other.pages[0].now


def test_a_resolved_alert_pages_nobody() -> None:
    (alert,) = told(am({"team": "web"}, status="resolved")).alerts

    assert alert.status is AlertStatus.RESOLVED
    assert not alert.pages[0].now
    assert alert.pages[0].why_not == "a resolved alert pages nobody (it resolves its incident)"


def test_a_pagerduty_acknowledgement_pages_nobody() -> None:
    pagerduty = Integration(name="pd", type="pagerduty", token="k")
    body = {"routing_key": "k", "event_action": "acknowledge", "dedup_key": "srv01"}
    # Offline, explain cannot know the trigger's labels: a route for every alert takes it.
    routing = RoutingConfig.model_validate({"routes": [{"policy": "audit"}]})
    (alert,) = explain(routing, LOADED.directory, pagerduty, body, AT, Facts()).alerts

    assert alert.status is AlertStatus.ACKNOWLEDGED
    assert [page.why_not for page in alert.pages] == [
        "an acknowledgement pages nobody (it acknowledges the incident the alert fires in)"
    ]


def test_who_is_paged_follows_the_schedule_at_the_instant() -> None:
    (monday,) = told(am({"team": "web"}), at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC)).alerts
    (next_week,) = told(am({"team": "web"}), at=datetime(2026, 1, 12, 10, 0, tzinfo=UTC)).alerts

    assert [(p.id, p.name) for p in monday.pages[0].people] == [("alice", "Alice")]
    assert [(p.id, p.name) for p in next_week.pages[0].people] == [("bob", "Bob")]
    assert monday.pages[0].targets == ["schedule:primary"]


def test_payload_errors_are_the_webhooks() -> None:
    explanation = told({"version": "4", "alerts": [{"status": "firing", "labels": {"a": True}}]})

    assert explanation.alerts == []
    assert [(e.field, e.message) for e in explanation.errors] == [
        ("alerts[0].labels.a", "Input should be a valid string")
    ]
    generic = told([{"severity": "x"}], integration=GENERIC)
    assert [e.field for e in generic.errors] == ["[0].summary"]


def test_what_was_not_checked_is_said() -> None:
    assert told(am({"team": "web"}), facts=Facts(unchecked="store unreachable")).notes == [
        "silences, inhibiting alerts and open incidents not checked: store unreachable"
    ]
    # Inhibition is not mentioned when no rule could inhibit.
    bare = RoutingConfig.model_validate({"routes": [{"policy": "payments"}]})
    unchecked = explain(bare, LOADED.directory, AM, am({}), AT, Facts(open_incidents={}))
    assert unchecked.notes == ["silences not checked: no store"]


def test_the_integration_is_a_pseudo_label_routes_can_test() -> None:
    explanation = told({"summary": "s", "severity": "critical"}, integration=GENERIC)

    (alert,) = explanation.alerts
    assert (explanation.integration, explanation.source) == ("custom", "generic")
    assert alert.labels == {"severity": "critical"}
    assert alert.routing.landings == []
    assert alert.routing.severity is Severity.SEV1


@pytest.mark.parametrize(
    ("wanted", "found"),
    [("prod-am", AM), ("alertmanager", AM), ("generic", GENERIC), ("custom", GENERIC)],
)
def test_an_integration_by_name_or_type(wanted: str, found: Integration) -> None:
    assert pick_integration([AM, GENERIC], wanted) == found


@pytest.mark.parametrize(
    ("integrations", "wanted", "message"),
    [
        (
            [AM, GENERIC],
            None,
            "name the integration the payload arrives on (one of: prod-am, custom)",
        ),
        ([AM, GENERIC], "nope", "unknown integration 'nope' (known: prod-am, custom)"),
        (
            [AM, AM.model_copy(update={"name": "other"})],
            "alertmanager",
            "several integrations have type 'alertmanager': name one of prod-am, other",
        ),
    ],
)
def test_an_integration_that_cannot_be_told(
    integrations: list[Integration], wanted: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        pick_integration(integrations, wanted)
    assert pick_integration([AM], None) == AM


def _alert(labels: dict[str, str]) -> Alert:
    return Alert(
        dedup_key="k",
        status=AlertStatus.FIRING,
        summary="s",
        labels=labels,
        integration=AM.name,
        source=AM.type,
        received_at=AT,
    )


def _landed(checks: list[RouteCheck]) -> list[str]:
    """The routes a trace ends on: each matched route no deeper route matched under."""
    landed = []
    for i, check in enumerate(checks):
        below = []
        for later in checks[i + 1 :]:
            if later.depth <= check.depth:
                break
            below.append(later)
        if check.matched and not any(c.matched for c in below):
            landed.append(check.route)
    return landed


VALUES = st.sampled_from(["", "prod", "staging", "payments", "db", "web", "checkout", "pg"])
NAMES = st.sampled_from(["env", "service", "component", "team", "severity"])


@given(st.dictionaries(NAMES, VALUES, max_size=5))
def test_the_trace_ends_where_the_router_places_the_alert(labels: dict[str, str]) -> None:
    labels = {name: value for name, value in labels.items() if value}
    alert = _alert(labels)
    routed = explain_routing(alert, ROUTING, [], Facts(), AT)

    assert _landed(routed.checks) == [p.route.name for p in place(alert, ROUTING)]
    assert [landing.route for landing in routed.landings] == _landed(routed.checks)
    rule = routed.severity_rule
    assert routed.severity is severity_of(alert, ROUTING.severity)
    if rule is not None:
        assert ROUTING.severity[rule].level is routed.severity
    nodes = {node.resolved.name: node for node in walk(ROUTING.tree)}
    for check in routed.checks:
        missed = first_miss(nodes[check.route].route, rule_labels(alert))
        assert (missed is None) is check.matched
        assert missed == check.why_not


def test_routing_config_only_is_enough() -> None:
    """A routing config without the rest (as the router has it) explains too."""
    bare = RoutingConfig.model_validate({"routes": [{"policy": "payments"}]})
    routed = explain_routing(_alert({}), bare, [], Facts(), AT)
    assert [landing.route for landing in routed.landings] == ["route-1"]


def test_urgency_says_when_sev3_and_sev4_page() -> None:
    """As the pager decides it: SEV3 outside its route's support hours pages when they next
    start, SEV4 pages nobody, and a group_wait holds the first page back."""
    config = {
        **CONFIG,
        "routes": [
            {
                "name": "web",
                "matchers": ["team=web"],
                "policy": "payments",
                "support_hours": [
                    {"timezone": "Europe/Berlin", "days": ["mon"], "start": "09:00", "end": "17:00"}
                ],
            },
            {"name": "batch", "matchers": ["team=batch"], "policy": "audit", "group_wait": "30s"},
        ],
        "severity": [
            {"match": {"severity": "info"}, "level": "SEV4"},
            {"match": {"severity": "warning"}, "level": "SEV3"},
        ],
    }
    loaded = LoadedConfig(
        path=Path("tocsin.yaml"),
        config=TocsinConfig.model_validate(config),
        schedules={"primary": PRIMARY},
    )

    def why_not(labels: dict[str, str]) -> str | None:
        (alert,) = explain(loaded.routing, loaded.directory, AM, am(labels), AT, Facts()).alerts
        return alert.pages[0].why_not

    assert why_not({"team": "web", "severity": "warning"}) == (
        "SEV3 outside support hours; pages at 2026-03-02T08:00:00+00:00"
    )
    assert why_not({"team": "web", "severity": "info"}) == (
        "SEV4 pages nobody (the incident is only recorded)"
    )
    assert why_not({"team": "web", "severity": "critical"}) is None
    assert why_not({"team": "batch"}) == (
        "pages after group_wait 30s, with the alerts collected by then"
    )


def test_each_person_paged_comes_with_the_channels_of_their_rules_for_its_urgency() -> None:
    """As paging goes by them: the steps due with the page, then each later one; without
    rules for the urgency, every method the person has at once."""
    people = {
        "alice": {
            "name": "Alice",
            "console": True,
            "webhook": "https://ops.example/alice",
            "teams_webhook": "https://teams.example/alice",
            "rules": {
                "high": [
                    {"after": "0m", "notify": ["webhook", "console"]},
                    {"after": "3m", "notify": ["teams"]},
                    {"after": "90m", "notify": ["console"]},
                ]
            },
        },
        "bob": {"name": "Bob", "webhook": "https://ops.example/bob"},
    }
    loaded = LoadedConfig(
        path=Path("tocsin.yaml"),
        config=TocsinConfig.model_validate({**CONFIG, "people": people}),
        schedules={"primary": PRIMARY},
    )

    def paged(labels: dict[str, str], at: datetime = AT) -> list[PagedPerson]:
        (alert,) = explain(loaded.routing, loaded.directory, AM, am(labels), at, Facts()).alerts
        return alert.pages[0].people

    monday = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # alice's week
    (high,) = paged({"team": "web", "severity": "critical"}, monday)
    assert high.by_rules
    assert [(s.after_seconds, s.channels) for s in high.notify] == [
        (0, ["webhook", "console"]),
        (180, ["teams"]),
        (5400, ["console"]),
    ]
    assert notify_text(high) == "now webhook, console; at 3m teams; at 90m console"

    (low,) = paged({"team": "web", "severity": "warning"}, monday)  # no low rules
    assert not low.by_rules
    assert [(s.after_seconds, s.channels) for s in low.notify] == [
        (0, ["webhook", "console", "teams"])
    ]
    assert notify_text(low) == "every method at once: webhook, console, teams"

    (bob,) = paged({"team": "web", "severity": "critical"})
    assert (bob.by_rules, [s.channels for s in bob.notify]) == (False, [["webhook"]])
