"""Strange but valid JSON, for every source: each body is either refused naming the field,
or gives alerts the router and notifier can use (they round-trip through the stream's JSON,
their times are in UTC, their summary is one line).

Bodies are sent as JSON text and decoded as the webhook decodes them, so ``1e400`` arrives
as Python's json reads it: infinity.
"""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingest.body import decode_json
from ingest.config import Integration
from ingest.models import (
    MAX_DEDUP_KEY,
    MAX_LABELS,
    MAX_LONG_TEXT,
    MAX_NAME,
    MAX_SHORT_TEXT,
    Alert,
)
from ingest.sources import SOURCES, PayloadError
from ingest.sources.base import MAX_ALERTS

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTEGRATIONS = {
    "alertmanager": Integration(name="am", type="alertmanager", token="t"),
    "generic": Integration(name="cron", type="generic", token="t"),
}
ACCEPTED = None
A0 = "alerts[0]."
LONG_NAME = 'labels["%s…"]' % ("n" * 64)
"""How a refusal names a label whose name is too long to repeat."""
RESOLVED = {"status": "resolved", "labels": {}}
INF = float("inf")
"""Written into a body as ``1e400``."""


def as_json(value: object) -> str:
    # json.dumps spells infinity "Infinity", which is not JSON (and refused as such).
    return json.dumps(value).replace("Infinity", "1e400")


def outcome(source: str, value: object) -> list[Alert] | PayloadError:
    """What ``source`` makes of ``value`` sent as JSON and decoded as the webhook does."""
    try:
        return SOURCES[source].parse(
            decode_json(as_json(value).encode()), INTEGRATIONS[source], NOW
        )
    except PayloadError as error:
        return error


def assert_usable(alerts: list[Alert]) -> None:
    for alert in alerts:
        assert Alert.model_validate_json(alert.model_dump_json()) == alert
        for moment in (alert.starts_at, alert.ends_at, alert.received_at):
            assert moment is None or moment.tzinfo is UTC
        assert len(alert.summary.splitlines()) <= 1


def am(top: dict[str, object] | None = None, **fields: object) -> dict[str, object]:
    """A one-alert Alertmanager notification: ``fields`` added to (or replacing) the alert's,
    ``top`` to the notification's."""
    alert = {"status": "firing", "labels": {"a": "b"}, **fields}
    return {"version": "4", "alerts": [alert], **(top or {})}


def generic(**fields: object) -> dict[str, object]:
    return {"summary": "Disk full", "severity": "warning", **fields}


def many(count: int) -> dict[str, str]:
    return {f"k{i}": "v" for i in range(count)}


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


AM_CASES: list[tuple[str, object, str | None]] = [
    ("year 9999 at -05:00", am(startsAt="9999-12-31T23:59:59-05:00"), A0 + "startsAt"),
    ("ends after UTC's last day", am(endsAt="9999-12-31T20:00:00-04:00"), A0 + "endsAt"),
    ("the last moment in UTC", am(startsAt="9999-12-31T23:59:59.999999Z"), ACCEPTED),
    ("year 9999 at +05:00", am(startsAt="9999-12-31T23:59:59+05:00"), ACCEPTED),
    ("Go's zero time", am(endsAt="0001-01-01T00:00:00Z"), ACCEPTED),
    ("year 1 at +01:00 means unset", am(startsAt="0001-01-01T00:30:00+01:00"), ACCEPTED),
    ("year 2 at +14:00", am(startsAt="0002-01-01T00:00:00+14:00"), ACCEPTED),
    ("a time of 1e400", am(startsAt=INF), A0 + "startsAt"),
    ("a time of -1e400", am(endsAt=-INF), A0 + "endsAt"),
    ("Unix time past 9999", am(startsAt=1e20), A0 + "startsAt"),
    ("a time as an object", am(startsAt={"seconds": 1}), A0 + "startsAt"),
    ("a label of 1e400", am(labels={"a": INF}), A0 + "labels.a"),
    ("a label of -1e400", am(labels={"a": -INF}), A0 + "labels.a"),
    ("an annotation of 1e400", am(annotations={"s": INF}), A0 + "annotations.s"),
    ("a fingerprint of 1e400", am(fingerprint=INF), A0 + "fingerprint"),
    ("a generatorURL of -1e400", am(generatorURL=-INF), A0 + "generatorURL"),
    ("an externalURL of 1e400", am({"externalURL": INF}), "externalURL"),
    ("1e400 where nothing is read", am(silenceURL=INF), ACCEPTED),
    ("1e308 is text", am(labels={"a": 1e308}), ACCEPTED),
    ("a 4,000-digit integer is text", am(labels={"a": 10**3999}), ACCEPTED),
    ("the longest label value", am(labels={"a": "v" * MAX_SHORT_TEXT}), ACCEPTED),
    ("a longer label value", am(labels={"a": "v" * (MAX_SHORT_TEXT + 1)}), A0 + "labels.a"),
    ("the longest label name", am(labels={"n" * MAX_NAME: "v"}), ACCEPTED),
    ("a longer label name", am(labels={"n" * (MAX_NAME + 1): "v"}), A0 + LONG_NAME),
    ("the most labels", am(labels=many(MAX_LABELS)), ACCEPTED),
    ("a label more", am(labels=many(MAX_LABELS + 1)), A0 + "labels"),
    ("10,000 labels", am(labels=many(10_000)), A0 + "labels"),
    ("the most annotations", am(annotations=many(MAX_LABELS)), ACCEPTED),
    ("10,000 annotations", am(annotations=many(10_000)), A0 + "annotations"),
    ("the longest description", am(annotations={"d": "d" * MAX_LONG_TEXT}), ACCEPTED),
    (
        "a longer description",
        am(annotations={"d": "d" * (MAX_LONG_TEXT + 1)}),
        A0 + "annotations.d",
    ),
    ("the longest generatorURL", am(generatorURL="u" * MAX_SHORT_TEXT), ACCEPTED),
    ("a longer generatorURL", am(generatorURL="u" * (MAX_SHORT_TEXT + 1)), A0 + "generatorURL"),
    ("a longer externalURL", am({"externalURL": "u" * (MAX_SHORT_TEXT + 1)}), "externalURL"),
    ("the longest fingerprint", am(fingerprint="f" * MAX_DEDUP_KEY), ACCEPTED),
    ("a longer fingerprint", am(fingerprint="f" * (MAX_DEDUP_KEY + 1)), A0 + "fingerprint"),
    ("an empty fingerprint", am(fingerprint=""), ACCEPTED),
    ("an empty label name and value", am(labels={"": ""}), ACCEPTED),
    ("an empty summary annotation", am(annotations={"summary": ""}), ACCEPTED),
    ("no labels", am(labels={}), ACCEPTED),
    ("a label nested 500 deep", am(labels={"a": nested(500)}), A0 + "labels.a"),
    ("labels nested 500 deep", am(labels=nested(500)), A0 + "labels.a"),
    ("an unread field nested 500 deep", am(groupLabels=nested(500)), ACCEPTED),
    ("arrays where text is", am(annotations={"s": [[["x"]]]}), A0 + "annotations.s"),
    ("NUL characters", am(labels={"\0": "\0"}, fingerprint="\0"), ACCEPTED),
    ("a lone surrogate in a value", am(labels={"a": "\ud800"}), A0 + "labels.a"),
    ("a lone surrogate in a name", am(labels={"\udfff": "v"}), A0 + 'labels["\ufffd\ufffd\ufffd"]'),
    ("a lone surrogate in a fingerprint", am(fingerprint="\udc00x"), A0 + "fingerprint"),
    ("a surrogate pair", am(labels={"a": "\U0001f600"}), ACCEPTED),
    ("line breaks in the summary", am(annotations={"summary": "a\nb\r\nc\u2028d"}), ACCEPTED),
    ("the most alerts", {"version": "4", "alerts": [RESOLVED] * MAX_ALERTS}, ACCEPTED),
    ("an alert more", {"version": "4", "alerts": [RESOLVED] * (MAX_ALERTS + 1)}, "alerts"),
]

GENERIC_CASES: list[tuple[str, object, str | None]] = [
    ("a summary of 1e400", generic(summary=INF), "summary"),
    ("a severity of -1e400", generic(severity=-INF), "severity"),
    ("a label of 1e400", generic(labels={"x": INF}), "labels.x"),
    ("a dedup_key of 1e400", generic(dedup_key=INF), "dedup_key"),
    ("a source of -1e400", generic(source=-INF), "source"),
    ("1e400 where nothing is read", generic(details=INF), ACCEPTED),
    ("an empty summary", generic(summary=""), "summary"),
    ("an empty severity", generic(severity=""), "severity"),
    ("a summary of line breaks", generic(summary="\n\r\n"), ACCEPTED),
    ("NUL characters", generic(summary="\0", dedup_key="\0"), ACCEPTED),
    ("a lone surrogate", generic(summary="disk \ud83d"), "summary"),
    ("the longest summary", generic(summary="s" * MAX_LONG_TEXT), ACCEPTED),
    ("a longer summary", generic(summary="s" * (MAX_LONG_TEXT + 1)), "summary"),
    ("the longest severity", generic(severity="s" * MAX_SHORT_TEXT), ACCEPTED),
    ("a longer severity", generic(severity="s" * (MAX_SHORT_TEXT + 1)), "severity"),
    ("the longest dedup key", generic(dedup_key="k" * MAX_DEDUP_KEY), ACCEPTED),
    ("a longer dedup key", generic(dedup_key="k" * (MAX_DEDUP_KEY + 1)), "dedup_key"),
    ("the most labels, with severity", generic(labels=many(MAX_LABELS - 1)), ACCEPTED),
    ("a label more", generic(labels=many(MAX_LABELS)), "labels"),
    ("10,000 labels", generic(labels=many(10_000)), "labels"),
    ("a summary nested 500 deep", generic(summary=nested(500)), "summary"),
    ("the most alerts", [generic()] * MAX_ALERTS, ACCEPTED),
    ("an alert more", [generic()] * (MAX_ALERTS + 1), "(body)"),
]


@pytest.mark.parametrize(
    ("source", "body", "refused"),
    [
        *(pytest.param("alertmanager", body, refused, id=name) for name, body, refused in AM_CASES),
        *(pytest.param("generic", body, refused, id=name) for name, body, refused in GENERIC_CASES),
    ],
)
def test_strange_json_is_refused_naming_the_field_or_gives_usable_alerts(
    source: str, body: object, refused: str | None
) -> None:
    result = outcome(source, body)
    if refused is ACCEPTED:
        assert isinstance(result, list)
        assert result
        assert_usable(result)
    else:
        assert isinstance(result, PayloadError)
        assert [error.field for error in result.errors] == [refused]


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        (
            "alertmanager",
            am(startsAt="9999-12-31T23:59:59-05:00"),
            "Value error, must be a time between the years 1 and 9999 in UTC",
        ),
        (
            "generic",
            generic(labels={"x": INF}),
            "Value error, must be text, or a number within the range of a 64-bit float",
        ),
        (
            "generic",
            generic(summary="s" * (MAX_LONG_TEXT + 1)),
            f"String should have at most {MAX_LONG_TEXT} characters",
        ),
        (
            "generic",
            generic(labels=many(10_000)),
            f"Dictionary should have at most {MAX_LABELS - 1} items after validation, not more",
        ),
    ],
)
def test_a_refusal_says_why(source: str, body: object, message: str) -> None:
    result = outcome(source, body)
    assert isinstance(result, PayloadError)
    assert [error.message for error in result.errors] == [message]


def test_times_are_stored_in_utc_as_the_same_instant() -> None:
    result = outcome("alertmanager", am(startsAt="9999-12-31T23:59:59+05:00"))
    assert isinstance(result, list)
    assert result[0].starts_at == datetime(9999, 12, 31, 18, 59, 59, tzinfo=UTC)
    assert result[0].starts_at.tzinfo is UTC


def test_a_multi_line_summary_becomes_one_line() -> None:
    description = "a\nb\r\nc\u2028d\n"
    result = outcome("alertmanager", am(annotations={"description": description}))
    assert isinstance(result, list)
    assert (result[0].summary, result[0].annotations["description"]) == ("a b c d", description)


@given(
    moment=st.datetimes(),
    offset=st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
)
@example(moment=datetime(9999, 12, 31, 23, 59, 59), offset=timezone(timedelta(hours=-5)))
@example(moment=datetime(1, 1, 1, 0, 30), offset=timezone(timedelta(hours=1)))
@example(moment=datetime(2, 1, 1), offset=timezone(timedelta(hours=23, minutes=59)))
def test_any_time_is_refused_by_name_or_kept_as_the_same_instant(
    moment: datetime, offset: timezone
) -> None:
    sent = moment.replace(tzinfo=offset)
    result = outcome("alertmanager", am(startsAt=sent.isoformat()))
    if isinstance(result, PayloadError):
        assert [error.field for error in result.errors] == [A0 + "startsAt"]
        with pytest.raises(OverflowError):
            sent.astimezone(UTC)
    else:
        assert_usable(result)
        assert result[0].starts_at == (None if moment.year == 1 else sent)  # year 1: Go's zero


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)  # JSON has no NaN; 1e400 is how a body says infinity
    | st.text(st.characters(codec=None, exclude_categories=()))
    | st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:30:00+01:00", "\0", "a\nb"])
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=8
)


@given(
    fields=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            [
                "status",
                "labels",
                "annotations",
                "startsAt",
                "endsAt",
                "generatorURL",
                "fingerprint",
            ],
            json_values | st.dictionaries(st.text(), json_scalars),
        ),
    ),
    external_url=json_scalars,
)
def test_any_alertmanager_alert_is_refused_by_field_or_usable(
    fields: dict[str, object], external_url: object
) -> None:
    result = outcome("alertmanager", am({"externalURL": external_url}, **fields))
    if isinstance(result, PayloadError):
        assert result.errors
        assert {error.field.split(".")[0] for error in result.errors} <= {
            "alerts[0]",
            "externalURL",
        }
    else:
        assert_usable(result)


@given(
    item=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            ["summary", "severity", "dedup_key", "status", "labels", "source"],
            json_values | st.dictionaries(st.text(), json_scalars),
        ),
    )
)
def test_any_generic_alert_is_refused_by_field_or_usable(item: dict[str, object]) -> None:
    result = outcome("generic", [item])
    if isinstance(result, PayloadError):
        assert result.errors
        assert all(error.field.startswith("[0]") for error in result.errors)
    else:
        assert_usable(result)
