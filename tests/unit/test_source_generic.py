import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.config import Integration
from ingest.fingerprint import labels_fingerprint
from ingest.models import Alert, AlertStatus
from ingest.sources import SOURCES, PayloadError
from ingest.sources.generic import GenericSource

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads" / "generic"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTEGRATION = Integration(name="cron", type="generic", token="t0ken")
SOURCE = GenericSource()


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def parse(body: object) -> list[Alert]:
    return SOURCE.parse(body, INTEGRATION, NOW)


def parse_one(**fields: object) -> Alert:
    (alert,) = parse({"summary": "Disk full", "severity": "warning", **fields})
    return alert


def error_fields(body: object) -> set[str]:
    with pytest.raises(PayloadError) as raised:
        parse(body)
    return {error.field for error in raised.value.errors}


def test_is_registered_under_its_name() -> None:
    assert SOURCES["generic"].name == "generic"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_parses(path: Path) -> None:
    body = json.loads(path.read_text())
    sent = body if isinstance(body, list) else [body]
    alerts = parse(body)
    assert [a.summary for a in alerts] == [s["summary"] for s in sent]
    for alert, item in zip(alerts, sent, strict=True):
        assert alert.labels == {"severity": item["severity"], **item["labels"]}
        assert (alert.integration, alert.source, alert.received_at) == ("cron", "generic", NOW)


def test_a_single_alert_is_normalized_field_by_field() -> None:
    assert parse(load("single.json")) == [
        Alert(
            dedup_key="backup-db-1",
            status=AlertStatus.FIRING,
            summary="Nightly backup of db-1 failed: pg_dump exited with status 1",
            labels={
                "severity": "critical",
                "host": "db-1.prod.example.com",
                "job": "nightly-backup",
                "team": "data",
            },
            integration="cron",
            source="generic",
            origin="cron@db-1.prod.example.com",
            received_at=NOW,
        )
    ]


def test_a_list_keeps_each_alert_and_their_order() -> None:
    alerts = parse(load("list.json"))
    assert [(a.labels["domain"], a.labels["severity"]) for a in alerts] == [
        ("shop.example.com", "warning"),
        ("api.example.com", "critical"),
    ]
    assert len({a.dedup_key for a in alerts}) == 2


def test_a_resolve_matches_the_alert_it_resolves() -> None:
    (firing,) = parse(load("single.json"))
    (resolved,) = parse(load("resolved.json"))
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.dedup_key == firing.dedup_key


def test_status_defaults_to_firing() -> None:
    assert parse_one().status is AlertStatus.FIRING


def test_severity_joins_the_labels_unless_they_have_their_own() -> None:
    assert parse_one(labels={"host": "db-1"}).labels == {"severity": "warning", "host": "db-1"}
    assert parse_one(labels={"severity": "P1"}).labels == {"severity": "P1"}


def test_without_a_dedup_key_the_senders_labels_are_the_identity() -> None:
    first = parse_one(summary="Disk 91% full", labels={"host": "db-1"})
    later = parse_one(summary="Disk 95% full", severity="critical", labels={"host": "db-1"})
    assert first.dedup_key == later.dedup_key == labels_fingerprint({"host": "db-1"})


def test_without_labels_the_summary_is_the_identity() -> None:
    disk = parse_one(summary="Disk full")
    assert parse_one(summary="Disk full", severity="critical").dedup_key == disk.dedup_key
    assert parse_one(summary="Backup failed").dedup_key != disk.dedup_key
    # Not mistaken for a real label set that happens to hold the summary.
    assert disk.dedup_key != labels_fingerprint({"summary": "Disk full"})


@pytest.mark.parametrize("dedup_key", [None, ""])
def test_an_empty_dedup_key_counts_as_none(dedup_key: str | None) -> None:
    assert parse_one(dedup_key=dedup_key).dedup_key == parse_one().dedup_key


def test_numbers_become_text() -> None:
    alert = parse_one(summary=500, severity=2, labels={"port": 8080, "load": 0.75})
    assert (alert.summary, alert.labels) == (
        "500",
        {"severity": "2", "port": "8080", "load": "0.75"},
    )


def test_unknown_fields_are_ignored() -> None:
    assert parse_one(details={"free": "0B"}).summary == "Disk full"


def test_an_empty_list_has_no_alerts() -> None:
    assert parse([]) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"summary", "severity"}),
        ({"summary": "", "severity": ""}, {"summary", "severity"}),
        ({"summary": "x", "severity": "warning", "status": "open"}, {"status"}),
        ({"summary": None, "severity": True}, {"summary", "severity"}),
        ({"summary": "x", "severity": "warning", "labels": ["host"]}, {"labels"}),
        ({"summary": "x", "severity": "warning", "labels": {"up": False}}, {"labels.up"}),
        ({"summary": "x", "severity": "warning", "labels": {"a b": None}}, {'labels["a b"]'}),
        ({"summary": "x", "severity": "warning", "dedup_key": "k" * 513}, {"dedup_key"}),
        ({"summary": "x", "severity": "warning", "source": {"host": "a"}}, {"source"}),
        ({"summary": "\ud83d", "severity": "warning"}, {"summary"}),
        ("Disk full", {"(body)"}),
        (42, {"(body)"}),
        (None, {"(body)"}),
        ([None], {"[0]"}),
    ],
)
def test_each_bad_field_is_named(body: object, fields: set[str]) -> None:
    assert error_fields(body) == fields


def test_every_bad_field_of_every_item_in_a_list_is_named_at_once() -> None:
    body = [*load("list.json"), {"severity": "info", "labels": {"x": []}}, "oops"]
    body[0]["status"] = "acknowledged"
    assert error_fields(body) == {"[0].status", "[2].summary", "[2].labels.x", "[3]"}


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=()))
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            field: json_scalars | st.dictionaries(st.text(), json_scalars)
            for field in ("summary", "severity", "dedup_key", "status", "labels", "source")
        },
    )
)
def test_any_values_are_an_alert_that_serializes_or_a_payload_error(
    body: dict[str, object],
) -> None:
    try:
        alerts = parse([body])
    except PayloadError:
        return
    for alert in alerts:
        assert Alert.model_validate_json(alert.model_dump_json()) == alert


@pytest.mark.parametrize(
    ("fields", "dedup_key"),
    [
        ({"dedup_key": "disk-db-1"}, "disk-db-1"),
        ({"labels": {"host": "db-1"}}, labels_fingerprint({"host": "db-1"})),
        ({"summary": "Disk full"}, labels_fingerprint({"__summary__": "Disk full"})),
    ],
)
def test_a_resolve_needs_only_the_identity(fields: dict[str, object], dedup_key: str) -> None:
    (alert,) = SOURCES["generic"].parse({"status": "resolved", **fields}, INTEGRATION, NOW)
    assert (alert.status, alert.dedup_key) == ("resolved", dedup_key)
    assert "severity" not in alert.labels


def test_a_resolve_that_names_no_alert_is_refused() -> None:
    with pytest.raises(PayloadError) as caught:
        SOURCES["generic"].parse({"status": "resolved", "severity": "warning"}, INTEGRATION, NOW)
    [error] = caught.value.errors
    assert "a resolve needs what identifies the alert" in error.message
