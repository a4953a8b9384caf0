"""The postmortem of a scripted incident, compared with a file a person read and approved
(``tests/fixtures/postmortem/``); and the escaping of text that came from outside."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.models import AlertStatus
from router.config import Severity
from router.models import AlertRecord, Incident, IncidentStatus, TimelineEvent, TimelineKind
from tocsin.postmortem import link, md, postmortem, span

GOLDEN = Path(__file__).parents[1] / "fixtures" / "postmortem" / "payments-latency.md"
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


INCIDENT = Incident(
    id="42",
    title="p99 latency | payments <script>alert(1)</script>",
    status=IncidentStatus.RESOLVED,
    severity=Severity.SEV1,
    route="payments",
    policy="payments-primary",
    service="payments",
    group_key="payments:HighLatency",
    group_labels={"alertname": "HighLatency"},
    created_at=minutes(0),
    acknowledged_at=minutes(7),
    acknowledged_by="bob",
    resolved_at=minutes(48),
    resolved_by="bob",
    alerts_total=2,
)
ALERTS = [
    AlertRecord(
        dedup_key="b",
        status=AlertStatus.RESOLVED,
        summary="p99 on eu-2",
        labels={"alertname": "HighLatency", "cluster": "eu-2"},
        severity=Severity.SEV1,
        first_seen=minutes(2),
        last_seen=minutes(40),
        integration="prod-am",
        source="alertmanager",
    ),
    AlertRecord(
        dedup_key="a",
        status=AlertStatus.RESOLVED,
        summary="p99 latency | payments <script>alert(1)</script>",
        labels={"alertname": "HighLatency", "team": "*pay*_[ops]`"},
        generator_url="https://prom.example/graph?g0.expr=up&x=<y>",
        severity=Severity.SEV1,
        first_seen=minutes(-1.5),
        last_seen=minutes(45),
        integration="prod-am",
        source="alertmanager",
    ),
]
TIMELINE = [
    TimelineEvent(at=minutes(0), kind=TimelineKind.CREATED, detail="route payments"),
    TimelineEvent(at=minutes(0), kind=TimelineKind.ALERT_ADDED, detail=ALERTS[1].summary),
    TimelineEvent(
        at=minutes(0.5), kind=TimelineKind.PAGED, person="alice", channel="sms", level=1, round=0
    ),
    TimelineEvent(at=minutes(2), kind=TimelineKind.ALERT_ADDED, detail="p99 on eu-2"),
    TimelineEvent(
        at=minutes(5.5),
        kind=TimelineKind.ESCALATED,
        level=2,
        round=0,
        detail="no acknowledgement within 5m",
    ),
    TimelineEvent(
        at=minutes(5.5), kind=TimelineKind.PAGED, person="bob", channel="email", level=2, round=0
    ),
    TimelineEvent(at=minutes(7), kind=TimelineKind.ACKNOWLEDGED, person="bob"),
    TimelineEvent(at=minutes(48), kind=TimelineKind.RESOLVED, person="bob"),
]


def test_a_scripted_incident_reads_as_approved() -> None:
    assert postmortem(INCIDENT, TIMELINE, ALERTS) == GOLDEN.read_text()


def test_an_open_incident_says_so() -> None:
    open_one = INCIDENT.model_copy(
        update={"status": IncidentStatus.TRIGGERED, "resolved_at": None, "resolved_by": None}
    )
    text = postmortem(open_one, TIMELINE[:3], [])
    assert "- Impact window: 2026-03-02 03:00:00 UTC (first alert) to not resolved yet" in text
    assert "- Time to acknowledge: 7m (at 2026-03-02 03:07:00 UTC)" in text
    assert "- Time to resolve: not yet" in text
    assert "- First alert: none kept" in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a|b", r"a\|b"),
        ("<b>x</b> & y", "&lt;b&gt;x&lt;/b&gt; &amp; y"),
        ("*bold* _it_ `code` [link](u) ~s~", r"\*bold\* \_it\_ \`code\` \[link\](u) \~s\~"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two lines"),
        ("plain text, 5.0 - ok", "plain text, 5.0 - ok"),
    ],
)
def test_text_from_outside_is_escaped(text: str, shown: str) -> None:
    assert md(text) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45, "45s"), (420, "7m"), (3725, "1h 2m 5s"), (90000, "1d 1h")],
)
def test_spans(seconds: int, shown: str) -> None:
    assert span(timedelta(seconds=seconds)) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://prom.example/graph?g0.expr=up&x=1",
            "<https://prom.example/graph?g0.expr=up&x=1>",
        ),
        ("http://a.example/<b> c|d", "<http://a.example/%3Cb%3E%20c%7Cd>"),
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)
def test_links(url: str, shown: str) -> None:
    assert link(url) == shown
