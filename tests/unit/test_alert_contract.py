"""The ``Alert`` model itself refuses what the router and notifier could not handle, whatever
code builds it: the sources' payload models are one guard, this is the second."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.models import (
    MAX_DEDUP_KEY,
    MAX_LABELS,
    MAX_LONG_TEXT,
    MAX_NAME,
    MAX_SHORT_TEXT,
    Alert,
    AlertStatus,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def alert(**fields: Any) -> Alert:
    base: dict[str, Any] = {
        "dedup_key": "k",
        "status": AlertStatus.FIRING,
        "summary": "Disk full",
        "integration": "cron",
        "source": "generic",
        "received_at": NOW,
    }
    return Alert(**(base | fields))


def refused_fields(**fields: Any) -> set[object]:
    with pytest.raises(ValidationError) as raised:
        alert(**fields)
    return {error["loc"][0] for error in raised.value.errors()}


@pytest.mark.parametrize("field", ["starts_at", "ends_at", "received_at"])
@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_a_time_with_no_utc_equivalent_is_refused(field: str, moment: datetime) -> None:
    assert refused_fields(**{field: moment}) == {field}


def test_times_are_stored_in_utc_as_the_same_instant() -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    stored = alert(starts_at=datetime(2026, 3, 2, 17, 30, tzinfo=east), received_at=NOW)
    assert stored.starts_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert stored.starts_at is not None
    assert stored.starts_at.tzinfo is UTC
    assert stored.model_dump_json().count("Z") == 2


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"dedup_key": ""}, "dedup_key"),
        ({"dedup_key": "k" * (MAX_DEDUP_KEY + 1)}, "dedup_key"),
        ({"summary": "s" * (MAX_LONG_TEXT + 1)}, "summary"),
        ({"labels": {f"l{i}": "v" for i in range(MAX_LABELS + 1)}}, "labels"),
        ({"labels": {"n" * (MAX_NAME + 1): "v"}}, "labels"),
        ({"labels": {"a": "v" * (MAX_SHORT_TEXT + 1)}}, "labels"),
        ({"annotations": {f"a{i}": "v" for i in range(MAX_LABELS + 1)}}, "annotations"),
        ({"annotations": {"a": "v" * (MAX_LONG_TEXT + 1)}}, "annotations"),
        ({"origin": "o" * (MAX_SHORT_TEXT + 1)}, "origin"),
        ({"generator_url": "u" * (MAX_SHORT_TEXT + 1)}, "generator_url"),
        ({"summary": "disk \ud800"}, "summary"),
        ({"labels": {"\udfff": "v"}}, "labels"),
    ],
)
def test_oversized_or_unstorable_fields_are_refused(fields: dict[str, Any], refused: str) -> None:
    assert refused_fields(**fields) == {refused}


def test_the_largest_alert_is_kept() -> None:
    labels = {f"{i:0{MAX_NAME}}": "v" * MAX_SHORT_TEXT for i in range(3)}
    biggest = alert(
        dedup_key="k" * MAX_DEDUP_KEY,
        summary="s" * MAX_LONG_TEXT,
        labels=labels | {f"l{i}": "" for i in range(MAX_LABELS - 3)},
        annotations={f"a{i}": "" for i in range(MAX_LABELS)},
    )
    assert Alert.model_validate_json(biggest.model_dump_json()) == biggest


@pytest.mark.parametrize(
    ("summary", "stored"),
    [
        ("Disk full\non db-1", "Disk full on db-1"),
        ("a\r\nb\rc\u2028d\u0085e\x0bf", "a b c d e f"),
        ("trailing\n", "trailing"),
        ("tabs\tand  spaces stay", "tabs\tand  spaces stay"),
    ],
)
def test_the_summary_is_one_line(summary: str, stored: str) -> None:
    assert alert(summary=summary).summary == stored
