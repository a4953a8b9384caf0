import copy
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
from ingest.sources.alertmanager import AlertmanagerSource

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads" / "alertmanager"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTEGRATION = Integration(name="prod-alertmanager", type="alertmanager", token="t0ken")
SOURCE = AlertmanagerSource()


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def parse(body: object) -> list[Alert]:
    return SOURCE.parse(body, INTEGRATION, NOW)


def minimal(**alert: object) -> dict[str, Any]:
    """The smallest notification Alertmanager could send, with one alert's fields overridden."""
    return {
        "version": "4",
        "alerts": [{"status": "firing", "labels": {"alertname": "Down"}, **alert}],
    }


def error_fields(body: object) -> set[str]:
    with pytest.raises(PayloadError) as raised:
        parse(body)
    return {error.field for error in raised.value.errors}


def test_is_registered_under_its_name() -> None:
    assert SOURCES["alertmanager"].name == "alertmanager"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_parses_to_one_alert_per_alertmanager_alert(path: Path) -> None:
    body = json.loads(path.read_text())
    alerts = parse(body)
    assert [a.dedup_key for a in alerts] == [a["fingerprint"] for a in body["alerts"]]
    assert [a.status for a in alerts] == [a["status"] for a in body["alerts"]]
    for alert in alerts:
        assert (alert.integration, alert.source, alert.received_at) == (
            "prod-alertmanager",
            "alertmanager",
            NOW,
        )
        assert alert.origin == "http://alertmanager.prod.example.com:9093"


def test_a_firing_alert_is_normalized_field_by_field() -> None:
    body = load("firing.json")
    (alert,) = parse(body)
    sent = body["alerts"][0]
    assert alert == Alert(
        dedup_key="2f4d6c1b9a7e3058",
        status=AlertStatus.FIRING,
        summary="checkout-api error rate above 5%",
        labels=sent["labels"],
        annotations=sent["annotations"],
        integration="prod-alertmanager",
        source="alertmanager",
        origin="http://alertmanager.prod.example.com:9093",
        generator_url=sent["generatorURL"],
        starts_at=datetime(2026, 3, 2, 11, 52, 13, 318000, tzinfo=UTC),
        ends_at=None,  # Alertmanager's zero time
        received_at=NOW,
    )


def test_a_grouped_notification_keeps_each_alert_and_their_order() -> None:
    alerts = parse(load("grouped_firing.json"))
    assert [a.labels["pod"] for a in alerts] == [
        "payments-worker-7c9f8d6b5-2xkqp",
        "payments-worker-7c9f8d6b5-9fzlw",
        "payments-worker-7c9f8d6b5-tq4mn",
    ]
    assert len({a.dedup_key for a in alerts}) == 3


def test_a_resolved_alert_has_the_firing_alerts_identity_and_an_end() -> None:
    (firing,) = parse(load("firing.json"))
    (resolved,) = parse(load("resolved.json"))
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.dedup_key == firing.dedup_key
    assert resolved.ends_at == datetime(2026, 3, 2, 12, 7, 13, 318000, tzinfo=UTC)


@pytest.mark.parametrize("fingerprint", [None, ""])
def test_without_a_fingerprint_the_labels_are_the_identity(fingerprint: str | None) -> None:
    body = minimal(labels={"alertname": "Down", "job": "api"}, fingerprint=fingerprint)
    (alert,) = parse(body)
    assert alert.dedup_key == labels_fingerprint({"alertname": "Down", "job": "api"})


@pytest.mark.parametrize(
    ("annotations", "labels", "summary"),
    [
        ({"summary": "S", "description": "D"}, {"alertname": "A"}, "S"),
        ({"summary": "", "description": "D"}, {"alertname": "A"}, "D"),
        ({"runbook_url": "https://r"}, {"alertname": "A"}, "A"),
        ({}, {"job": "api"}, "alert"),
    ],
)
def test_summary_falls_back_from_annotations_to_the_alert_name(
    annotations: dict[str, str], labels: dict[str, str], summary: str
) -> None:
    (alert,) = parse(minimal(annotations=annotations, labels=labels))
    assert alert.summary == summary


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00.000Z"]
)
def test_go_zero_time_means_unset(moment: str) -> None:
    (alert,) = parse(minimal(startsAt=moment, endsAt=moment))
    assert (alert.starts_at, alert.ends_at) == (None, None)


def test_nanosecond_timestamps_and_offsets_are_read() -> None:
    (alert,) = parse(minimal(startsAt="2026-03-02T13:52:13.318123456+02:00"))
    assert alert.starts_at == datetime(2026, 3, 2, 11, 52, 13, 318123, tzinfo=UTC)


def test_missing_optional_fields_are_unset() -> None:
    (alert,) = parse(minimal())
    assert (alert.origin, alert.generator_url, alert.starts_at, alert.annotations) == (
        None,
        None,
        None,
        {},
    )


def test_numbers_in_labels_and_annotations_become_text() -> None:
    (alert,) = parse(minimal(labels={"alertname": "Down", "port": 8080}, annotations={"v": 0.5}))
    assert alert.labels["port"] == "8080"
    assert alert.annotations["v"] == "0.5"


def test_unused_fields_are_not_validated() -> None:
    body = minimal(silenceURL=["odd"])
    body.update(groupLabels="not an object", orgId=1)
    assert len(parse(body)) == 1


def test_an_empty_notification_has_no_alerts() -> None:
    assert parse({"version": "4", "alerts": []}) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"alerts": []}, {"version"}),
        ({"version": "1", "alerts": []}, {"version"}),
        ({"version": 4, "alerts": []}, {"version"}),
        ({"version": "4"}, {"alerts"}),
        ({"version": "4", "alerts": {}}, {"alerts"}),
        (minimal(status="pending"), {"alerts[0].status"}),
        (minimal(status=None, labels=None), {"alerts[0].status", "alerts[0].labels"}),
        (minimal(labels={"alertname": "Down", "critical": True}), {"alerts[0].labels.critical"}),
        (minimal(labels={"alertname": None}), {"alerts[0].labels.alertname"}),
        (
            minimal(labels={"app.kubernetes.io/name": ["api"]}),
            {'alerts[0].labels["app.kubernetes.io/name"]'},
        ),
        (minimal(annotations={"summary": {"text": "x"}}), {"alerts[0].annotations.summary"}),
        (minimal(startsAt="yesterday"), {"alerts[0].startsAt"}),
        (minimal(endsAt="2026-03-02T12:00:00"), {"alerts[0].endsAt"}),
        (minimal(fingerprint="f" * 513), {"alerts[0].fingerprint"}),
        (minimal(generatorURL=False), {"alerts[0].generatorURL"}),
        (minimal(labels={"host": "db-\ud800"}), {"alerts[0].labels.host"}),
        # Pydantic reports a key it cannot encode with replacement characters.
        (minimal(labels={"\udfff": "x"}), {'alerts[0].labels["\ufffd\ufffd\ufffd"]'}),
        ({"version": "4", "alerts": [], "externalURL": ["http://am"]}, {"externalURL"}),
        ([], {"(body)"}),
        ("firing", {"(body)"}),
        (None, {"(body)"}),
    ],
)
def test_each_bad_field_is_named(body: object, fields: set[str]) -> None:
    assert error_fields(body) == fields


def test_every_bad_field_in_every_alert_is_named_at_once() -> None:
    body = load("grouped_firing.json")
    body["version"] = "5"
    body["alerts"][0]["status"] = "pending"
    body["alerts"][1]["labels"]["replica"] = 2.5  # a number: accepted as "2.5"
    body["alerts"][1]["labels"]["canary"] = False
    del body["alerts"][2]["labels"]
    body["alerts"][2]["startsAt"] = "soon"
    assert error_fields(body) == {
        "version",
        "alerts[0].status",
        "alerts[1].labels.canary",
        "alerts[2].labels",
        "alerts[2].startsAt",
    }


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=()))
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=5
)


@given(
    field=st.sampled_from(
        ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]
    ),
    value=json_values | st.dictionaries(st.text(), json_scalars),
)
def test_any_value_in_any_field_is_an_alert_that_serializes_or_a_payload_error(
    field: str, value: object
) -> None:
    body = copy.deepcopy(load("firing.json"))
    body["alerts"][0][field] = value
    try:
        alerts = parse(body)
    except PayloadError:
        return
    for alert in alerts:
        assert Alert.model_validate_json(alert.model_dump_json()) == alert


def test_alerts_the_sender_left_out_travel_with_the_ones_it_showed() -> None:
    # max_alerts: 2 on the receiver, 5 firing: 2 shown, "truncatedAlerts": 3.
    body = load("grouped_firing.json")
    body["truncatedAlerts"] = 3
    alerts = parse(body)
    assert alerts
    assert {alert.sender_not_shown for alert in alerts} == {3}
    assert {a.sender_not_shown for a in parse(load("grouped_firing.json"))} == {0}


@pytest.mark.parametrize("count", [-1, "many", 1.5])
def test_a_truncation_count_that_is_not_a_count_is_refused(count: object) -> None:
    body = load("firing.json")
    body["truncatedAlerts"] = count
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert [e.field for e in caught.value.errors] == ["truncatedAlerts"]
