"""Grafana Alerting's webhook contact point, on payloads written from Grafana's docs and its
notifier's source (``receivers/webhook/v1/webhook.go``: version "1")."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Integration
from ingest.models import Alert, AlertStatus
from ingest.sources.alertmanager import AlertmanagerSource
from tests.unit.source_under_test import NOW, SourceUnderTest

SOURCE = SourceUnderTest(Integration(name="grafana-prod", type="grafana", token="t0ken"))
FIXTURES = SOURCE.fixtures
load, parse, error_fields = SOURCE.load, SOURCE.parse, SOURCE.error_fields


def minimal(**alert: object) -> dict[str, Any]:
    return {
        "version": "1",
        "alerts": [{"status": "firing", "labels": {"alertname": "Down"}, **alert}],
    }


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_parses_to_one_alert_per_grafana_alert(path: Path) -> None:
    body = json.loads(path.read_text())
    alerts = parse(body)
    assert [a.dedup_key for a in alerts] == [a["fingerprint"] for a in body["alerts"]]
    assert [a.status for a in alerts] == [a["status"] for a in body["alerts"]]
    assert {(a.source, a.integration, a.origin) for a in alerts} == {
        ("grafana", "grafana-prod", "https://grafana.example.com/")
    }


def test_a_firing_alert_is_normalized_field_by_field() -> None:
    body = load("firing.json")
    (alert,) = parse(body)
    sent = body["alerts"][0]
    assert alert == Alert(
        dedup_key="c6eadffa33fcdf37",
        status=AlertStatus.FIRING,
        summary="Memory above 90% in zone us-1",
        labels=sent["labels"],
        annotations={
            **sent["annotations"],
            "silence_url": sent["silenceURL"],
            "dashboard_url": sent["dashboardURL"],
            "panel_url": sent["panelURL"],
            "value_string": sent["valueString"],
            "values": f"B={sent['values']['B']!r} C=1",
        },
        integration="grafana-prod",
        source="grafana",
        origin="https://grafana.example.com/",
        generator_url=sent["generatorURL"],
        starts_at=datetime(2026, 3, 2, 9, 51, 3, 157076, tzinfo=UTC),
        ends_at=None,  # Go's zero time, as Alertmanager sends it
        received_at=NOW,
    )


def test_a_resolved_alert_keeps_the_firing_identity_and_has_an_end() -> None:
    (firing,) = parse(load("firing.json"))
    (resolved,) = parse(load("resolved.json"))
    assert (resolved.status, resolved.dedup_key) == (AlertStatus.RESOLVED, firing.dedup_key)
    assert resolved.ends_at == datetime(2026, 3, 2, 10, 6, 3, 157076, tzinfo=UTC)


def test_a_batch_keeps_each_alert_in_order() -> None:
    alerts = parse(load("batch.json"))
    assert [(a.summary, a.status) for a in alerts] == [
        ("CPU above 80% in zone eu-1", AlertStatus.FIRING),
        ("Memory above 90% in zone us-1", AlertStatus.RESOLVED),
    ]


def test_truncated_alerts_are_counted_so_the_group_does_not_resolve_on_the_rest() -> None:
    (alert,) = parse(load("truncated.json"))
    assert alert.sender_not_shown == 2
    (untruncated,) = parse(load("firing.json"))
    assert untruncated.sender_not_shown == 0


def test_empty_links_and_absent_values_are_left_out() -> None:
    (alert,) = parse(load("test_notification.json"))
    assert alert.annotations == {
        "summary": "Notification test",
        "value_string": "[ metric='foo' labels={instance=bar} value=10 ]",
    }
    assert alert.generator_url is None


def test_unknown_fields_are_ignored_and_an_image_is_kept() -> None:
    (alert,) = parse(load("extra_fields.json"))
    assert alert.annotations["image_url"].endswith("/abc.png")


def test_the_rules_own_annotation_wins_over_grafanas_field() -> None:
    (alert,) = parse(minimal(annotations={"dashboard_url": "mine"}, dashboardURL="grafana's"))
    assert alert.annotations == {"dashboard_url": "mine"}


def test_summary_falls_back_as_for_alertmanager() -> None:
    (alert,) = parse(minimal(annotations={"description": "D"}))
    assert alert.summary == "D"
    (alert,) = parse(minimal())
    assert alert.summary == "Down"


def test_the_same_alert_as_alertmanager_sends_it_differs_only_in_its_source() -> None:
    """Grafana's alerts are Alertmanager's with more: the shared fields read alike."""
    grafana = minimal(fingerprint="f1", annotations={"summary": "S"}, startsAt="2026-03-02T11:00Z")
    (from_grafana,) = parse(grafana)
    (from_am,) = AlertmanagerSource().parse({**grafana, "version": "4"}, SOURCE.integration, NOW)
    assert from_grafana == from_am.model_copy(update={"source": "grafana"})


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"alerts": []}, {"version"}),
        ({"version": "4", "alerts": []}, {"version"}),
        ({"version": 1, "alerts": []}, {"version"}),
        ({"version": "1"}, {"alerts"}),
        (minimal(status="pending"), {"alerts[0].status"}),
        (minimal(labels=None), {"alerts[0].labels"}),
        (minimal(silenceURL=["x"]), {"alerts[0].silenceURL"}),
        (minimal(values={"B": "high"}), {"alerts[0].values.B"}),
        (minimal(values=[1]), {"alerts[0].values"}),
        (minimal(valueString={"v": 1}), {"alerts[0].valueString"}),
        ({"version": "1", "alerts": [], "truncatedAlerts": -1}, {"truncatedAlerts"}),
        (
            minimal(annotations={f"a{i}": "x" for i in range(996)}),
            {"alerts[0].annotations"},
        ),
        ([], {"(body)"}),
    ],
)
def test_each_bad_field_is_named(body: object, fields: set[str]) -> None:
    assert error_fields(body) == fields
