"""Datadog's Webhooks integration with the README's payload template, on payloads as Datadog
fills its variables in (per its Webhooks integration docs)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.config import Integration
from ingest.models import Alert, AlertStatus
from ingest.sources import PayloadError
from ingest.sources.datadog import tag_labels
from tests.unit.source_under_test import NOW, SourceUnderTest

SOURCE = SourceUnderTest(Integration(name="datadog", type="datadog", token="t0ken"))
FIXTURES = SOURCE.fixtures
load, parse, error_fields = SOURCE.load, SOURCE.parse, SOURCE.error_fields


def minimal(**fields: object) -> dict[str, Any]:
    return {"title": "Disk full", "transition": "Triggered", "alert_id": "42", **fields}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_is_one_alert(path: Path) -> None:
    (alert,) = parse(json.loads(path.read_text()))
    assert (alert.source, alert.integration) == ("datadog", "datadog")


def test_a_triggered_monitor_is_normalized_field_by_field() -> None:
    body = load("triggered.json")
    assert parse(body) == [
        Alert(
            dedup_key="9bd4ac313a4d1e8fae2482df7b77628",
            status=AlertStatus.FIRING,
            summary="[Triggered on {host:db-1}] Disk usage above 90% on db-1",
            labels={
                "priority": "P2",
                "device": "/dev/sda1",
                "env": "prod",
                "host": "db-1",
                "monitor": "",
                "service": "postgres",
                "team": "storage",
            },
            annotations={
                "description": body["message"],
                "status": body["status"],
                "event_id": "7491342118203954813",
            },
            integration="datadog",
            source="datadog",
            origin="db-1",
            generator_url=body["link"],
            starts_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
            received_at=NOW,
        )
    ]


def test_recovered_resolves_the_same_alert_and_dates_its_end() -> None:
    (firing,) = parse(load("triggered.json"))
    (recovered,) = parse(load("recovered.json"))
    assert (recovered.status, recovered.dedup_key) == (AlertStatus.RESOLVED, firing.dedup_key)
    assert (recovered.starts_at, recovered.ends_at) == (
        None,
        datetime(2026, 3, 2, 12, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("transition", "status"),
    [
        ("Triggered", AlertStatus.FIRING),
        ("Re-Triggered", AlertStatus.FIRING),
        ("Warn", AlertStatus.FIRING),
        ("Re-Warn", AlertStatus.FIRING),
        ("No Data", AlertStatus.FIRING),
        ("Re-No Data", AlertStatus.FIRING),
        ("Renotify", AlertStatus.FIRING),
        ("Recovered", AlertStatus.RESOLVED),
        ("recovered", AlertStatus.RESOLVED),
        (" TRIGGERED ", AlertStatus.FIRING),
    ],
)
def test_the_transition_decides_firing_or_resolved(transition: str, status: AlertStatus) -> None:
    (alert,) = parse(minimal(transition=transition))
    assert alert.status is status


def test_without_a_priority_there_is_no_priority_label() -> None:
    (alert,) = parse(load("warn_no_priority.json"))
    assert "priority" not in alert.labels


def test_a_priority_tag_wins_over_the_monitors_priority() -> None:
    (alert,) = parse(minimal(priority="P1", tags="priority:P3"))
    assert alert.labels == {"priority": "P3"}


def test_without_an_aggregation_key_the_monitor_is_the_identity() -> None:
    (alert,) = parse(load("no_data_minimal.json"))
    assert alert.dedup_key == "monitor-23456789"
    assert (alert.labels, alert.generator_url) == ({"priority": "P1"}, None)
    assert alert.annotations == {"event_id": "7491342118203970000"}


def test_unknown_fields_are_ignored() -> None:
    (alert,) = parse(load("extra_fields.json"))
    assert alert.is_firing


@pytest.mark.parametrize(
    ("tags", "labels"),
    [
        ("", {}),
        ("env:prod", {"env": "prod"}),
        ("env:prod,role:db", {"env": "prod", "role": "db"}),
        (" env:prod , monitor ,, ", {"env": "prod", "monitor": ""}),
        ("url:https://x.example/a:b", {"url": "https://x.example/a:b"}),
        ("team:a, team:b", {"team": "a,b"}),
    ],
)
def test_tags_become_labels(tags: str, labels: dict[str, str]) -> None:
    assert tag_labels(tags) == labels


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True),
        st.from_regex(r"[a-z0-9_./-]{0,20}", fullmatch=True),
    )
)
def test_labels_written_as_tags_read_back(labels: dict[str, str]) -> None:
    assert tag_labels(", ".join(f"{name}:{value}" for name, value in labels.items())) == labels


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title", "transition"}),
        (minimal(title=""), {"title"}),
        (minimal(transition="Exploded"), {"transition"}),
        (minimal(transition=None), {"transition"}),
        (minimal(alert_id=None), {"aggregate_key"}),
        (minimal(alert_id="", aggregate_key=""), {"aggregate_key"}),
        (minimal(date="yesterday"), {"date"}),
        (minimal(date="99999999999999999"), {"date"}),
        (minimal(tags=["env:prod"]), {"tags"}),
        (minimal(tags="a:" + "x" * 20_000), {"tags"}),
        (minimal(link={"href": "x"}), {"link"}),
        ([], {"(body)"}),
    ],
)
def test_each_bad_field_is_named(body: object, fields: set[str]) -> None:
    assert error_fields(body) == fields


def test_an_unknown_transition_lists_the_known_ones() -> None:
    with pytest.raises(PayloadError) as raised:
        parse(minimal(transition="Exploded"))
    assert "Recovered, Triggered" in raised.value.errors[0].message
