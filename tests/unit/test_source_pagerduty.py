"""PagerDuty Events API v2 events to alerts and change events, on payloads written from
PagerDuty's documentation."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.config import Integration
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources import SOURCES, PayloadError
from ingest.sources.pagerduty import MAX_SUMMARY, ChangeEvent, PagerDutySource, parse_change

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads" / "pagerduty"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTEGRATION = Integration(
    name="pd-prod", type="pagerduty", token="e93facc04764012d7bfb002500d5d1a6"
)
SOURCE = PagerDutySource(new_key=lambda: "generated-key")


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def parse(body: object) -> Alert:
    (alert,) = SOURCE.parse(body, INTEGRATION, NOW)
    return alert


def errors(body: object) -> dict[str, str]:
    with pytest.raises(PayloadError) as raised:
        SOURCE.parse(body, INTEGRATION, NOW)
    return {error.field: error.message for error in raised.value.errors}


def trigger(**payload: object) -> dict[str, object]:
    body = load("trigger_minimal")
    body["payload"].update(payload)
    return body


def test_is_registered_under_its_name() -> None:
    assert isinstance(SOURCES["pagerduty"], PagerDutySource)


def test_a_trigger_with_every_optional_field_is_normalized_field_by_field() -> None:
    assert parse(load("trigger_full")) == Alert(
        dedup_key="srv01/mysql",
        status=AlertStatus.FIRING,
        summary="DISK at 99% on machine prod-datapipe03.example.com",
        labels={
            "severity": "critical",
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
        },
        annotations={
            "free space": "1%",
            "ping time": "1500ms",
            "load avg": "0.75",
            "disks[0].mount": "/",
            "disks[0].used": "99",
            "disks[1].mount": "/var",
            "disks[1].used": "40",
            "paged": "true",
            "owner": "null",
            "client": "Sample Monitoring Service",
            "client_url": "https://monitoring.example.com/checks/42",
            "links": "Runbook <https://wiki.example.com/runbooks/disk>\n"
            "https://grafana.example.com/d/disk",
            "images": "Disk usage <https://grafana.example.com/d/disk>",
        },
        integration="pd-prod",
        source="pagerduty",
        origin="prod-datapipe03.example.com",
        generator_url="https://monitoring.example.com/checks/42",
        starts_at=datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC),
        received_at=NOW,
    )


def test_a_trigger_without_optional_fields_gets_a_new_dedup_key() -> None:
    assert parse(load("trigger_minimal")) == Alert(
        dedup_key="generated-key",
        status=AlertStatus.FIRING,
        summary="Example alert on host1.example.com",
        labels={"severity": "info", "source": "host1.example.com"},
        integration="pd-prod",
        source="pagerduty",
        origin="host1.example.com",
        received_at=NOW,
    )


def test_two_triggers_without_a_key_are_two_alerts() -> None:
    source = PagerDutySource()
    body = load("trigger_minimal")
    keys = {source.parse(body, INTEGRATION, NOW)[0].dedup_key for _ in range(2)}
    assert len(keys) == 2
    assert all(len(key) == 32 for key in keys)


@pytest.mark.parametrize(
    ("name", "status"),
    [("acknowledge", AlertStatus.ACKNOWLEDGED), ("resolve", AlertStatus.RESOLVED)],
)
def test_a_follow_up_names_only_its_alert(name: str, status: AlertStatus) -> None:
    assert parse(load(name)) == Alert(
        dedup_key="srv01/mysql",
        status=status,
        summary=status.value,
        integration="pd-prod",
        source="pagerduty",
        received_at=NOW,
    )


def test_a_follow_up_ignores_a_payload_as_pagerduty_does() -> None:
    body = {**load("resolve"), "payload": {"severity": "bad"}}
    assert parse(body).status is AlertStatus.RESOLVED


def test_a_link_is_the_alert_link_when_there_is_no_client_url() -> None:
    body = {**load("trigger_minimal"), "links": [{"href": "https://runbook.example.com"}]}
    assert parse(body).generator_url == "https://runbook.example.com"


def test_unknown_extra_fields_are_ignored() -> None:
    body = {**trigger(region="eu", custom_details="plain text"), "priority": "P1", "x": [1]}
    alert = parse(body)
    assert alert.annotations == {"details": "plain text"}
    assert "region" not in alert.labels


def test_a_detail_never_hides_behind_a_context_of_the_same_name() -> None:
    body = {**trigger(custom_details={"client": "theirs"}), "client": "ours"}
    assert parse(body).annotations == {"client": "theirs"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            trigger(severity="fatal"),
            {
                "payload.severity": "Input should be 'critical', 'error', 'warning' or 'info'",
            },
        ),
        (
            trigger(summary="x" * (MAX_SUMMARY + 1)),
            {"payload.summary": "Value error, must be at most 1024 characters (PagerDuty's limit)"},
        ),
        (
            trigger(timestamp="yesterday"),
            {"payload.timestamp": "Input should be a valid datetime or date, input is too short"},
        ),
        (
            trigger(timestamp="2015-07-17T08:42:58"),
            {"payload.timestamp": "Input should have timezone info"},
        ),
        (
            {"routing_key": "k", "event_action": "trigger"},
            {"(body)": "Value error, a trigger needs a payload (summary, source and severity)"},
        ),
        (
            {"routing_key": "k", "event_action": "resolve"},
            {"(body)": "Value error, resolve needs the dedup_key of the alert"},
        ),
        (
            {"routing_key": "k", "event_action": "snooze", "dedup_key": "a"},
            {"event_action": "Input should be 'trigger', 'acknowledge' or 'resolve'"},
        ),
        (
            {**load("trigger_minimal"), "dedup_key": "k" * 256},
            {"dedup_key": "Value error, must be at most 255 characters (PagerDuty's limit)"},
        ),
        (
            trigger(summary="", source=None),
            {
                "payload.summary": "String should have at least 1 character",
                "payload.source": "Input should be a valid string",
            },
        ),
        (
            trigger(custom_details={"ratio": 1e400, "text": "x" * 70_000}),
            {
                "payload.custom_details.ratio": "Value error, must be text, or a number within "
                "the range of a 64-bit float",
                "payload.custom_details.text": "String should have at most 65536 characters",
            },
        ),
        (
            {**load("trigger_minimal"), "links": [{"text": "no href"}]},
            {"links[0].href": "Field required"},
        ),
        (
            ["not", "an", "event"],
            {"(body)": "Input should be a valid dictionary or instance of _AlertEvent"},
        ),
    ],
    ids=[
        "bad severity",
        "summary over 1024",
        "bad timestamp",
        "timestamp without offset",
        "trigger without payload",
        "resolve without key",
        "unknown action",
        "dedup key over 255",
        "missing summary and source",
        "details too large",
        "link without href",
        "not an object",
    ],
)
def test_bad_events_name_each_field(body: object, expected: dict[str, str]) -> None:
    assert errors(body) == expected


def test_too_many_details_are_refused_not_cut() -> None:
    details = {f"d{i}": i for i in range(MAX_LABELS)}
    assert errors(trigger(custom_details=details)) == {
        "payload.custom_details": "more than 996 details when flattened"
    }


def test_deeply_nested_details_are_a_field_error_not_a_crash() -> None:
    details: object = "bottom"
    for _ in range(5000):  # deeper than Python recurses
        details = {"d": details}
    ((field, message),) = errors(trigger(custom_details=details)).items()
    assert field.startswith("payload.custom_details[")
    assert message == "String should have at most 1024 characters"


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=8)))
def test_flat_details_keep_every_name_and_value(details: dict[str, object]) -> None:
    annotations = parse(trigger(custom_details=details)).annotations
    assert annotations == {name: str(value) for name, value in details.items()}


def test_a_change_event_as_the_change_log_keeps_it() -> None:
    assert parse_change(load("change"), INTEGRATION, NOW) == ChangeEvent(
        integration="pd-prod",
        summary="Build Success: Increase snapshot create timeout to 30 seconds",
        source="acme-build-pipeline-tool-default-i-9999",
        timestamp=datetime(2020, 7, 17, 8, 42, 58, 315000, tzinfo=UTC),
        received_at=NOW,
        custom_details={"build_state": "passed", "build_number": "2", "run_time": "1236s"},
        links=[
            {"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}
        ],
    )


def test_a_change_event_needs_a_summary() -> None:
    with pytest.raises(PayloadError) as raised:
        parse_change({"routing_key": "k", "payload": {}}, INTEGRATION, NOW)
    assert [(e.field, e.message) for e in raised.value.errors] == [
        ("payload.summary", "Field required")
    ]
