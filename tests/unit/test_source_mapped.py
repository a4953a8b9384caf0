"""A generic integration with a ``mapping``: paths, literals, joins and firsts read out of the
sender's own JSON (Uptime Kuma's webhook, a cron script's batch), and every bad path or
value named."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.config import Integration
from ingest.fingerprint import identity
from ingest.mapping import Mapping, NotText, parse_path
from ingest.models import AlertStatus
from ingest.sources import SOURCES, PayloadError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads" / "mapped"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

UPTIME_KUMA = {
    "summary": {"join": ["monitor.name", "heartbeat.msg"], "with": ": "},
    "dedup_key": {"join": [{"value": "kuma"}, "monitor.id"], "with": "-"},
    "status": "heartbeat.status",
    "resolved_values": [1],
    "severity": {"value": "critical"},
    "labels": {"monitor": "monitor.name", "team": "monitor.tags[0].value"},
    "links": {"url": "monitor.url"},
}
CRON = {
    "alerts": "results",
    "summary": {"first": ["error", "job"]},
    "dedup_key": "job",
    "status": "ok",
    "resolved_values": [True],
    "labels": {"job": "job"},
    "links": {"log": "log"},
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def parse(mapping: dict[str, Any], body: object) -> list[Any]:
    integration = Integration(name="kuma", type="generic", token="t", mapping=mapping)
    return SOURCES["generic"].parse(body, integration, NOW)


def errors(mapping: dict[str, Any], body: object) -> dict[str, str]:
    with pytest.raises(PayloadError) as raised:
        parse(mapping, body)
    return {error.field: error.message for error in raised.value.errors}


def test_uptime_kuma_down_fires() -> None:
    (alert,) = parse(UPTIME_KUMA, load("uptime_kuma_down.json"))
    assert alert.dedup_key == "kuma-4"
    assert alert.status is AlertStatus.FIRING
    assert alert.summary == "Checkout API: Request failed with status code 503"
    assert alert.labels == {"severity": "critical", "monitor": "Checkout API", "team": "payments"}
    assert alert.annotations == {"url": "https://checkout.example.com/health"}
    assert (alert.source, alert.integration, alert.received_at) == ("generic", "kuma", NOW)


def test_uptime_kuma_up_resolves_the_same_alert() -> None:
    (down,) = parse(UPTIME_KUMA, load("uptime_kuma_down.json"))
    (up,) = parse(UPTIME_KUMA, load("uptime_kuma_up.json"))
    assert (up.status, up.dedup_key) == (AlertStatus.RESOLVED, down.dedup_key)


def test_a_batch_under_a_path_is_one_alert_per_item() -> None:
    failed, fine = parse(CRON, load("cron_batch.json"))
    assert (failed.summary, failed.status, failed.dedup_key) == (
        "pg_dump exited 1",
        AlertStatus.FIRING,
        "nightly-db-dump",
    )
    assert failed.annotations == {"log": "https://logs.example.com/backup-1/nightly-db-dump"}
    assert (fine.summary, fine.status, fine.annotations) == (
        "offsite-sync",
        AlertStatus.RESOLVED,
        {},
    )


def test_a_list_body_without_an_alerts_path_is_one_alert_per_item() -> None:
    alerts = parse({"summary": "name"}, [{"name": "a"}, {"name": "b"}])
    assert [a.summary for a in alerts] == ["a", "b"]


def test_without_a_dedup_key_the_labels_then_the_summary_are_the_identity() -> None:
    (labelled,) = parse({"summary": "s", "labels": {"host": "h"}}, {"s": "91% full", "h": "db-1"})
    assert labelled.dedup_key == identity({"host": "db-1"}, "ignored")
    (bare,) = parse({"summary": "s"}, {"s": "Backup late"})
    assert bare.dedup_key == identity({}, "Backup late")


def test_without_a_status_path_every_alert_fires() -> None:
    (alert,) = parse({"summary": "s"}, {"s": "x", "status": "resolved"})
    assert alert.is_firing


def test_the_default_resolved_value_is_resolved() -> None:
    (alert,) = parse({"summary": "s", "status": "st"}, {"s": "x", "st": "resolved"})
    assert not alert.is_firing


def test_a_resolve_needs_no_summary_when_something_identifies_it() -> None:
    (alert,) = parse(
        {"summary": "s", "status": "st", "dedup_key": "id"}, {"st": "resolved", "id": "7"}
    )
    assert (alert.summary, alert.dedup_key, alert.is_firing) == ("resolved", "7", False)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ({"a": "text"}, "text"),
        ({"a": 8080}, "8080"),
        ({"a": 0.5}, "0.5"),
        ({"a": True}, "true"),
        ({"a": None}, None),
        ({}, None),
        ({"a": []}, NotText),
        ({"a": {"b": 1}}, NotText),
    ],
)
def test_what_a_path_reads(body: object, value: object) -> None:
    path = Mapping.model_validate({"summary": "a"}).summary
    if value is NotText:
        with pytest.raises(NotText):
            path.read(body)
    else:
        assert path.read(body) == value


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a", ("a",)),
        ("data.alert.name", ("data", "alert", "name")),
        ("items[0].id", ("items", 0, "id")),
        ("[0].id", (0, "id")),
        ("a[1][2]", ("a", 1, 2)),
        ("monitor name.with-dash", ("monitor name", "with-dash")),
    ],
)
def test_paths_parse(text: str, parts: tuple[object, ...]) -> None:
    assert parse_path(text) == parts


@pytest.mark.parametrize(
    "text", ["", ".a", "a.", "a..b", "a[x]", "a[0]b", "a[-1]", "a]", ".".join("a" * 33)]
)
def test_bad_paths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(text)


def test_a_missing_summary_is_named_at_its_path() -> None:
    assert errors({"summary": "monitor.name"}, {"monitor": None}) == {
        "monitor.name": "the summary is absent"
    }


def test_an_object_where_text_is_wanted_is_named_at_its_path_in_the_batch() -> None:
    body = {"results": [{"job": "a"}, {"job": {"name": "b"}}]}
    assert errors({"alerts": "results", "summary": "job"}, body) == {
        "results[1].job": "expected text or a number, found an object"
    }


def test_alerts_must_lead_to_a_list() -> None:
    assert errors({"alerts": "results", "summary": "job"}, {"results": {"job": "a"}}) == {
        "results": "the mapping's alerts: expected a list here"
    }


def test_a_value_too_long_is_named_where_the_mapping_read_it() -> None:
    body = {"items": [{"s": "ok", "h": "x" * 20_000}]}
    found = errors({"alerts": "items", "summary": "s", "labels": {"host": "h"}}, body)
    assert list(found) == ["items[0].h"]


def test_a_joined_value_is_named_by_the_mapping_field() -> None:
    body = {"a": "x" * 40_000, "b": "y" * 40_000}
    found = errors({"summary": {"join": ["a", "b"]}}, body)
    assert list(found) == ["mapping.summary"]


def test_a_resolve_with_nothing_to_identify_it_is_refused() -> None:
    found = errors({"summary": "s", "status": "st"}, {"st": "resolved"})
    assert "a resolve needs what identifies the alert" in found["(body)"]
