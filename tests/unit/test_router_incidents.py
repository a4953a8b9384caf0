"""What an alert or an acknowledgement does to an incident, without Redis."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.models import Alert, AlertStatus
from router.config import Route, RoutingConfig, Severity, SeverityRule
from router.grouping import group_key
from router.incidents import Change, Outcome, acknowledge, apply_to_open, open_incident
from router.matching import Placement, place
from router.models import Incident, IncidentEventKind, IncidentStatus, TimelineKind
from router.states import IllegalTransition

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIRING, RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED

ROUTING = RoutingConfig(
    routes=[Route(name="api", policy="api-oncall", group_by=["service"])],
    severity=[
        SeverityRule(match={"severity": "critical"}, level=Severity.SEV1),
        SeverityRule(match={"severity": "warning"}, level=Severity.SEV3),
    ],
)


def alert(
    dedup_key: str,
    status: AlertStatus = FIRING,
    at: datetime = T0,
    severity: str = "warning",
    summary: str | None = None,
) -> Alert:
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=summary or f"{dedup_key} is broken",
        labels={"service": "api", "severity": severity},
        annotations={"runbook": "https://runbooks.example/api"},
        integration="prom",
        source="alertmanager",
        generator_url="https://prom.example/graph",
        received_at=at,
    )


def placement(a: Alert) -> Placement:
    placed = place(a, ROUTING)
    assert placed is not None
    return placed


def opened(a: Alert, incident_id: str = "7") -> Incident:
    change = open_incident(incident_id, a, placement(a), group_key(a, placement(a)), a.received_at)
    assert change.incident is not None
    return change.incident


def apply(incident: Incident, a: Alert) -> Change:
    return apply_to_open(incident, a, placement(a), a.received_at)


def kinds(incident: Incident) -> list[TimelineKind]:
    return [event.kind for event in incident.timeline]


def test_open_incident() -> None:
    a = alert("disk", summary="disk full on api-1")
    change = open_incident("7", a, placement(a), "gk", T0)

    assert change.outcome is Outcome.OPENED
    assert change.events == [IncidentEventKind.OPENED]
    assert not change.closes_group
    incident = change.incident
    assert incident is not None
    assert incident.id == "7"
    assert incident.title == "disk full on api-1"
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.severity is Severity.SEV3
    assert incident.route == "api"
    assert incident.policy == "api-oncall"
    assert incident.group_key == "gk"
    assert incident.group_labels == {"service": "api"}
    assert incident.created_at == T0
    assert incident.acknowledged_at is None
    assert incident.resolved_at is None
    assert list(incident.alerts) == ["disk"]
    record = incident.alerts["disk"]
    assert record.status is FIRING
    assert record.count == 1
    assert record.first_seen == record.last_seen == T0
    assert record.resolved_at is None
    assert record.severity is Severity.SEV3
    assert record.labels == a.labels
    assert record.annotations == a.annotations
    assert record.generator_url == a.generator_url
    assert kinds(incident) == [TimelineKind.CREATED, TimelineKind.ALERT_ADDED]
    assert all(event.at == T0 for event in incident.timeline)


def test_a_repeat_bumps_count_and_last_seen_without_an_event() -> None:
    incident = opened(alert("disk"))
    timeline_before = list(incident.timeline)

    change = apply(incident, alert("disk", at=T0 + timedelta(minutes=1)))
    change = apply(incident, alert("disk", at=T0 + timedelta(minutes=2)))

    assert change.outcome is Outcome.REPEATED
    assert change.events == []
    assert change.incident is incident
    record = incident.alerts["disk"]
    assert record.count == 3
    assert record.first_seen == T0
    assert record.last_seen == T0 + timedelta(minutes=2)
    assert incident.timeline == timeline_before
    assert incident.status is IncidentStatus.TRIGGERED


def test_a_new_alert_joins_and_raises_severity_without_an_event() -> None:
    incident = opened(alert("disk", severity="warning"))
    severity_before = incident.severity
    assert severity_before is Severity.SEV3

    later = T0 + timedelta(minutes=1)
    change = apply(incident, alert("cpu", at=later, severity="critical"))

    assert change.outcome is Outcome.JOINED
    assert change.events == []
    assert incident.severity is Severity.SEV1
    assert set(incident.alerts) == {"disk", "cpu"}
    assert incident.alerts["cpu"].first_seen == later
    assert incident.alerts["cpu"].severity is Severity.SEV1
    assert kinds(incident)[-1] is TimelineKind.ALERT_ADDED
    assert incident.timeline[-1].detail == "cpu is broken"
    assert incident.title == "disk is broken"


def test_a_less_severe_alert_does_not_lower_severity() -> None:
    incident = opened(alert("disk", severity="critical"))
    apply(incident, alert("cpu", severity="warning"))
    apply(incident, alert("mem", severity="unknown"))  # SEV2 by default
    assert incident.severity is Severity.SEV1


def test_resolving_one_alert_of_several_resolves_only_that_alert() -> None:
    incident = opened(alert("disk"))
    apply(incident, alert("cpu"))
    later = T0 + timedelta(minutes=5)

    change = apply(incident, alert("disk", RESOLVED, at=later))

    assert change.outcome is Outcome.ALERT_RESOLVED
    assert change.events == []
    assert not change.closes_group
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.resolved_at is None
    assert incident.alerts["disk"].status is RESOLVED
    assert incident.alerts["disk"].resolved_at == later
    assert incident.alerts["disk"].last_seen == later
    assert incident.alerts["cpu"].status is FIRING
    assert kinds(incident)[-1] is TimelineKind.ALERT_RESOLVED


@pytest.mark.parametrize("acknowledged_first", [False, True])
def test_resolving_the_last_alert_resolves_the_incident(acknowledged_first: bool) -> None:
    incident = opened(alert("disk"))
    apply(incident, alert("cpu"))
    if acknowledged_first:
        acknowledge(incident, "alice", T0)
    apply(incident, alert("disk", RESOLVED, at=T0 + timedelta(minutes=1)))
    end = T0 + timedelta(minutes=2)

    change = apply(incident, alert("cpu", RESOLVED, at=end))

    assert change.outcome is Outcome.INCIDENT_RESOLVED
    assert change.events == [IncidentEventKind.RESOLVED]
    assert change.closes_group
    assert change.incident is incident
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolved_at == end
    assert all(r.status is RESOLVED for r in incident.alerts.values())
    assert kinds(incident)[-2:] == [TimelineKind.ALERT_RESOLVED, TimelineKind.RESOLVED]


def test_a_resolution_for_an_unknown_alert_is_ignored() -> None:
    incident = opened(alert("disk"))
    before = incident.model_copy(deep=True)

    change = apply(incident, alert("nobody-knows", RESOLVED))

    assert change.outcome is Outcome.IGNORED
    assert change.incident is None
    assert change.events == []
    assert incident == before


def test_a_repeated_resolution_is_ignored() -> None:
    incident = opened(alert("disk"))
    apply(incident, alert("cpu"))
    apply(incident, alert("disk", RESOLVED))
    before = incident.model_copy(deep=True)

    change = apply(incident, alert("disk", RESOLVED, at=T0 + timedelta(hours=1)))

    assert change.outcome is Outcome.IGNORED
    assert change.incident is None
    assert incident == before


def test_a_resolved_alert_firing_again_rejoins_the_open_incident() -> None:
    incident = opened(alert("disk"))
    apply(incident, alert("cpu"))
    apply(incident, alert("disk", RESOLVED, at=T0 + timedelta(minutes=1)))
    refire = T0 + timedelta(minutes=2)

    change = apply(incident, alert("disk", at=refire))

    assert change.outcome is Outcome.JOINED
    assert change.events == []
    record = incident.alerts["disk"]
    assert record.status is FIRING
    assert record.resolved_at is None
    assert record.count == 2
    assert record.first_seen == T0
    assert record.last_seen == refire
    assert incident.status is IncidentStatus.TRIGGERED
    assert kinds(incident)[-1] is TimelineKind.ALERT_ADDED

    # It now has to be resolved again before the incident can close.
    assert apply(incident, alert("cpu", RESOLVED)).outcome is Outcome.ALERT_RESOLVED
    assert apply(incident, alert("disk", RESOLVED)).outcome is Outcome.INCIDENT_RESOLVED


def test_acknowledge_records_who_and_when_once() -> None:
    incident = opened(alert("disk"))
    first = T0 + timedelta(minutes=3)

    assert acknowledge(incident, "alice", first) is True
    assert acknowledge(incident, "bob", first + timedelta(minutes=1)) is False

    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_by == "alice"
    assert incident.acknowledged_at == first
    acks = [e for e in incident.timeline if e.kind is TimelineKind.ACKNOWLEDGED]
    assert len(acks) == 1
    assert acks[0].person == "alice"
    assert acks[0].at == first


def test_acknowledging_a_resolved_incident_raises_and_changes_nothing() -> None:
    incident = opened(alert("disk"))
    apply(incident, alert("disk", RESOLVED))
    before = incident.model_copy(deep=True)

    with pytest.raises(IllegalTransition):
        acknowledge(incident, "alice", T0 + timedelta(minutes=1))

    assert incident == before


def test_an_acknowledged_incident_still_takes_new_alerts() -> None:
    incident = opened(alert("disk"))
    acknowledge(incident, "alice", T0)
    change = apply(incident, alert("cpu", severity="critical"))
    assert change.outcome is Outcome.JOINED
    assert change.events == []
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert incident.severity is Severity.SEV1


KEYS = ["a", "b", "c"]
SEVERITY_OF = {"a": "critical", "b": "warning", "c": "other"}
LEVEL_OF = {"critical": Severity.SEV1, "warning": Severity.SEV3, "other": Severity.SEV2}


@given(st.sampled_from(KEYS), st.lists(st.tuples(st.sampled_from(KEYS), st.booleans())))
def test_invariants_over_any_sequence_of_alerts(first: str, steps: list[tuple[str, bool]]) -> None:
    """Until it resolves: it is resolved exactly when no alert fires, it announces only its
    resolution, each record counts its firings and the severity is the worst seen."""
    incident = opened(alert(first, severity=SEVERITY_OF[first]))
    firings = {first: 1}
    events: list[IncidentEventKind] = [IncidentEventKind.OPENED]
    for minute, (key, firing) in enumerate(steps, start=1):
        at = T0 + timedelta(minutes=minute)
        status = FIRING if firing else RESOLVED
        change = apply(incident, alert(key, status, at=at, severity=SEVERITY_OF[key]))
        events += change.events
        if firing:
            firings[key] = firings.get(key, 0) + 1
            assert change.outcome in (Outcome.JOINED, Outcome.REPEATED)

        for k, record in incident.alerts.items():
            assert record.count == firings[k]
        assert set(incident.alerts) == set(firings)
        assert incident.severity == min(LEVEL_OF[SEVERITY_OF[k]] for k in firings)
        any_firing = any(r.status is FIRING for r in incident.alerts.values())
        assert (incident.status is IncidentStatus.RESOLVED) is (not any_firing)
        if change.closes_group:
            assert events == [IncidentEventKind.OPENED, IncidentEventKind.RESOLVED]
            assert incident.resolved_at == at
            return  # the store opens a new incident for whatever comes next
        assert events == [IncidentEventKind.OPENED]


def test_last_seen_never_moves_backwards_when_alerts_arrive_out_of_order() -> None:
    # Two routers share the stream, so a group's alerts can be applied out of order.
    incident = opened(alert("disk"))
    apply(incident, alert("cpu"))
    apply(incident, alert("disk", at=T0 + timedelta(minutes=5)))
    apply(incident, alert("disk", at=T0 + timedelta(minutes=3)))
    assert incident.alerts["disk"].last_seen == T0 + timedelta(minutes=5)
    assert incident.alerts["disk"].count == 3

    apply(incident, alert("disk", RESOLVED, at=T0 + timedelta(minutes=6)))
    apply(incident, alert("disk", at=T0 + timedelta(minutes=4)))
    assert incident.alerts["disk"].last_seen == T0 + timedelta(minutes=6)
