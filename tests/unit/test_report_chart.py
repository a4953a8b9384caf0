"""The incidents chart read back as XML: one bar per day and severity with incidents, heights
in proportion, text escaped; and the range a report request asks for."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from router.config import Severity
from router.reports import report
from tests.unit.test_reports import END, NOW, SCRIPT, START, incident, reviewed
from tocsin.report_svg import HEIGHT, incidents_chart
from tocsin.reports_api import report_range

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[tuple[str, str, int, float]]:
    root = ET.fromstring(svg)
    return [
        (
            r.get("data-day", ""),
            r.get("data-severity", ""),
            int(r.get("data-count", "0")),
            float(r.get("height", "0")),
        )
        for r in root.iter(f"{SVG}rect")
        if r.get("class") == "bar"
    ]


def test_one_bar_per_day_and_severity_with_incidents() -> None:
    shown = bars(incidents_chart(report(SCRIPT, START, END, NOW)))
    # 03-02: two SEV1 (the tallest day, the whole height); 03-03: one SEV2, one SEV3.
    assert shown == [
        ("2026-03-02", "SEV1", 2, HEIGHT),
        ("2026-03-03", "SEV2", 1, HEIGHT / 2),
        ("2026-03-03", "SEV3", 1, HEIGHT / 2),
    ]


def test_each_bar_says_what_it_counts() -> None:
    root = ET.fromstring(incidents_chart(report(SCRIPT, START, END, NOW)))
    titles = [t.text for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert titles == ["2026-03-02 SEV1: 2", "2026-03-03 SEV2: 1", "2026-03-03 SEV3: 1"]


def test_a_year_of_days_draws_and_labels_sparsely() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    many = [
        reviewed(incident(n, Severity.SEV4, start + timedelta(days=n, hours=1))) for n in range(366)
    ]
    svg = incidents_chart(report(many, start, start + timedelta(days=366), NOW))
    root = ET.fromstring(svg)
    assert len(bars(svg)) == 366
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert 1 < len(labels) <= 12


def test_no_incidents_no_bars() -> None:
    assert bars(incidents_chart(report([], START, END, NOW))) == []


# --- the range asked for -----------------------------------------------------------------

T = datetime(2026, 3, 9, 12, tzinfo=UTC)


def test_the_default_is_the_last_seven_days() -> None:
    assert report_range(None, None, T) == (T - timedelta(days=7), T, [])


def test_a_time_without_offset_is_read_as_utc_and_said() -> None:
    start, end, notes = report_range("2026-03-01", "2026-03-02T00:00:00+01:00", T)
    assert start == datetime(2026, 3, 1, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 23, tzinfo=UTC)
    assert notes == ["from: the time has no UTC offset: read as UTC"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("yesterday", None, "from: invalid time 'yesterday'"),
        (None, "2026-13-01", "to: invalid time '2026-13-01'"),
        ("2026-03-02T00:00Z", "2026-03-01T00:00Z", "from must be before to"),
        ("2026-03-02T00:00Z", "2026-03-02T00:00Z", "from must be before to"),
        ("2025-01-01T00:00Z", "2026-03-01T00:00Z", "longer than 366 days"),
    ],
)
def test_a_range_asked_wrong_is_named(start: str | None, end: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        report_range(start, end, T)
