"""Reports over a scripted set of incidents, every expected number worked out by hand in the
comments; then invariants over any set of incidents."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.config import Severity
from router.models import Incident, IncidentStatus, TimelineEvent, TimelineKind
from router.reports import DEFAULT_RESPONSE_TARGETS, Reviewed, report, review

S1, S2, S3, S4 = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4
START = datetime(2026, 3, 2, tzinfo=UTC)
END = datetime(2026, 3, 4, tzinfo=UTC)
NOW = datetime(2026, 3, 5, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def incident(
    n: int,
    severity: Severity,
    created: datetime,
    *,
    route: str = "payments",
    service: str | None = None,
    title: str = "HighLatency",
    alerts: int = 1,
    resolved: datetime | None = None,
) -> Incident:
    return Incident(
        id=str(n),
        title=title,
        severity=severity,
        route=route,
        policy="primary",
        service=service,
        group_key=f"g{n}",
        created_at=created,
        resolved_at=resolved,
        status=IncidentStatus.TRIGGERED if resolved is None else IncidentStatus.RESOLVED,
        alerts_total=alerts,
    )


def reviewed(head: Incident, acked: datetime | None = None, escalated: bool = False) -> Reviewed:
    return Reviewed(head, acked, escalated)


SCRIPT = [
    # A: acknowledged in 3 min (met SEV1's 5), resolved in 30 min.
    reviewed(
        incident(1, S1, at(2, 10), service="payments", alerts=4, resolved=at(2, 10, 30)),
        acked=at(2, 10, 3),
    ),
    # B: acknowledged in 10 min (missed), resolved in 60, escalated.
    reviewed(
        incident(2, S1, at(2, 12), service="payments", alerts=2, resolved=at(2, 13)),
        acked=at(2, 12, 10),
        escalated=True,
    ),
    # C: nobody acknowledged, its alerts resolved it in 20 min: SEV2 missed.
    reviewed(
        incident(3, S2, at(3, 8), route="db", title="DiskFull", alerts=3, resolved=at(3, 8, 20))
    ),
    # D: acknowledged in 5 min (met SEV3's hour), still open.
    reviewed(
        incident(4, S3, at(3, 23, 30), route="db", service="db", title="ReplicaLag"),
        acked=at(3, 23, 35),
    ),
    # E: opened the evening before the range: ignored.
    reviewed(incident(5, S4, at(1, 23)), acked=at(1, 23, 1)),
]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("incidents", 4),
        ("open", 1),
        ("acknowledged", 3),
        ("resolved", 3),
        ("mtta_seconds", (180 + 600 + 300) / 3),
        ("mttr_seconds", (1800 + 3600 + 1200) / 3),
        ("escalation_rate", 1 / 4),
        ("by_severity", {S1: 2, S2: 1, S3: 1, S4: 0}),
        # Most first, then by name: "(" sorts before "d".
        ("by_service", {"payments": 2, "(none)": 1, "db": 1}),
        ("by_route", {"db": 2, "payments": 2}),
    ],
)
def test_scripted_numbers(field: str, expected: Any) -> None:
    assert getattr(report(SCRIPT, START, END, NOW), field) == expected


@pytest.mark.parametrize(
    ("severity", "decided", "met", "share"),
    [(S1, 2, 1, 0.5), (S2, 1, 0, 0.0), (S3, 1, 1, 1.0), (S4, 0, 0, None)],
)
def test_response_targets(severity: Severity, decided: int, met: int, share: float) -> None:
    shown = report(SCRIPT, START, END, NOW).response_targets[severity]
    assert (shown.decided, shown.met, shown.pending, shown.share) == (decided, met, 0, share)
    assert shown.target_seconds == DEFAULT_RESPONSE_TARGETS[severity].total_seconds()


def test_an_unacknowledged_incident_inside_its_target_is_pending() -> None:
    fresh = reviewed(incident(1, S2, at(3, 23, 50)))
    early = report([fresh], START, END, now=at(3, 23, 55)).response_targets[S2]
    late = report([fresh], START, END, now=at(4, 0, 6)).response_targets[S2]
    assert (early.decided, early.pending, early.share) == (0, 1, None)
    assert (late.decided, late.pending, late.share) == (1, 0, 0.0)


def test_configured_targets_replace_the_defaults() -> None:
    targets = {**DEFAULT_RESPONSE_TARGETS, S1: timedelta(minutes=15)}
    shown = report(SCRIPT, START, END, NOW, targets).response_targets[S1]
    assert (shown.met, shown.share, shown.target_seconds) == (2, 1.0, 900)


def test_noisiest_by_incidents_then_alerts() -> None:
    shown = report(SCRIPT, START, END, NOW)
    assert [(n.name, n.incidents, n.alerts) for n in shown.noisiest_alerts] == [
        ("HighLatency", 2, 6),
        ("DiskFull", 1, 3),
        ("ReplicaLag", 1, 1),
    ]
    assert [(n.name, n.incidents, n.alerts) for n in shown.noisiest_routes] == [
        ("payments", 2, 6),
        ("db", 2, 4),
    ]


def test_every_day_of_the_range_has_its_counts() -> None:
    days = report(SCRIPT, START, END, NOW).per_day
    assert [(d.day, d.by_severity) for d in days] == [
        (date(2026, 3, 2), {S1: 2, S2: 0, S3: 0, S4: 0}),
        (date(2026, 3, 3), {S1: 0, S2: 1, S3: 1, S4: 0}),
    ]


def test_no_incidents_no_means() -> None:
    empty = report([], START, END, NOW)
    assert (empty.incidents, empty.mtta_seconds, empty.mttr_seconds) == (0, None, None)
    assert empty.escalation_rate is None
    assert len(empty.per_day) == 2


# --- what a timeline says ----------------------------------------------------------------


def event(kind: TimelineKind, when: datetime, level: int | None = None) -> TimelineEvent:
    return TimelineEvent(at=when, kind=kind, level=level, person="alice")


def test_the_first_acknowledgement_counts_after_a_reopening() -> None:
    head = incident(1, S1, at(2, 10))
    head.acknowledged_at = None  # a reopening cleared it
    timeline = [
        event(TimelineKind.CREATED, at(2, 10)),
        event(TimelineKind.ACKNOWLEDGED, at(2, 10, 2)),
        event(TimelineKind.REOPENED, at(2, 11)),
        event(TimelineKind.ACKNOWLEDGED, at(2, 11, 30)),
    ]
    assert review(head, timeline).first_acknowledged_at == at(2, 10, 2)


@pytest.mark.parametrize(
    ("level", "escalated"),
    [(2, True), (3, True), (1, False)],  # level 1 again is the policy's next round
)
def test_escalated_past_level_one(level: int, escalated: bool) -> None:
    timeline = [event(TimelineKind.ESCALATED, at(2, 10, 5), level=level)]
    assert review(incident(1, S1, at(2, 10)), timeline).escalated is escalated


# --- invariants --------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


@st.composite
def scripted(draw: st.DrawFn) -> Reviewed:
    created = START - timedelta(hours=12) + timedelta(minutes=draw(minutes))
    ack = draw(st.none() | minutes.map(lambda m: created + timedelta(minutes=m)))
    resolved = draw(st.none() | minutes.map(lambda m: created + timedelta(minutes=m)))
    head = incident(
        0,
        draw(st.sampled_from(Severity)),
        created,
        route=draw(st.sampled_from(["a", "b", "c"])),
        service=draw(st.sampled_from([None, "x", "y"])),
        title=draw(st.sampled_from(["T1", "T2"])),
        alerts=draw(st.integers(1, 50)),
        resolved=resolved,
    )
    return reviewed(head, ack, draw(st.booleans()))


@given(st.lists(scripted(), max_size=40))
def test_counts_add_up_and_shares_are_shares(incidents: list[Reviewed]) -> None:
    shown = report(incidents, START, END, NOW)
    total = shown.incidents
    assert sum(shown.by_severity.values()) == total
    assert sum(shown.by_service.values()) == total
    assert sum(shown.by_route.values()) == total
    assert sum(sum(d.by_severity.values()) for d in shown.per_day) == total
    assert shown.open + shown.resolved == total
    for part in [shown.escalation_rate, *(t.share for t in shown.response_targets.values())]:
        assert part is None or 0 <= part <= 1
    for severity, target in shown.response_targets.items():
        assert target.decided + target.pending == shown.by_severity[severity]
        assert target.met <= target.decided
