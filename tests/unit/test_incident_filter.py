"""The list filters' query parsing: every status a query may name, the time window, cursors
that read back as what they were made of, and refusals that name the parameter."""

import base64
import string
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.config import Severity
from router.index_reader import Position, Window
from router.models import IncidentStatus
from tocsin.incident_filter import (
    STATUSES,
    BadFilter,
    IncidentFilter,
    cursor_text,
    parse_cursor,
    parse_filter,
)


def test_no_filter_is_everything() -> None:
    assert parse_filter({"limit": "5"}) == IncidentFilter()
    assert parse_filter({}).everything


@pytest.mark.parametrize(
    ("status", "statuses"),
    [
        ("open", {IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED}),
        ("triggered", {IncidentStatus.TRIGGERED}),
        ("acknowledged", {IncidentStatus.ACKNOWLEDGED}),
        ("resolved", {IncidentStatus.RESOLVED}),
    ],
)
def test_each_status(status: str, statuses: set[IncidentStatus]) -> None:
    assert parse_filter({"status": status}).statuses == statuses


def test_severity_and_route() -> None:
    chosen = parse_filter({"severity": "SEV2", "route": "db"})
    assert (chosen.severity, chosen.route, chosen.everything) == (Severity.SEV2, "db", False)


@pytest.mark.parametrize(
    ("query", "named"),
    [({"status": "Open"}, "status"), ({"status": ""}, "status"), ({"severity": "1"}, "severity")],
)
def test_a_value_no_incident_has_is_refused_by_name(query: dict[str, str], named: str) -> None:
    with pytest.raises(BadFilter, match=f"^{named} must be one of"):
        parse_filter(query)


def test_every_status_is_offered() -> None:
    assert set(STATUSES) == {"open", *IncidentStatus}


def test_service_and_a_window() -> None:
    chosen = parse_filter(
        {"service": "db", "since": "2026-03-02T12:00:00", "until": "2026-03-02T14:00+01:00"}
    )

    assert chosen.service == "db"
    assert chosen.window == Window(
        datetime(2026, 3, 2, 12, tzinfo=UTC), datetime(2026, 3, 2, 13, tzinfo=UTC)
    )
    # The window is read from the index: it needs no incident looked at.
    assert not chosen.everything
    assert parse_filter({"since": "2026-03-02T12:00:00Z"}).everything


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "monday"}, "since: invalid time 'monday'"),
        ({"until": ""}, "until: invalid time ''"),
        ({"since": "2026-03-02T13:00Z", "until": "2026-03-02T12:00Z"}, "since must be before"),
    ],
)
def test_a_bad_time_is_refused_by_name(query: dict[str, str], message: str) -> None:
    with pytest.raises(BadFilter, match=f"^{message}"):
        parse_filter(query)


URL_SAFE = set(string.ascii_letters + string.digits + "-_")


@given(st.integers(0, 10**15 - 1), st.integers(0, 10**20 - 1))
def test_a_cursor_reads_back_as_the_position_it_was_made_of(created_ms: int, id_: int) -> None:
    position = Position(created_ms, f"{id_:020d}")
    text = cursor_text(position)
    assert parse_cursor(text) == position
    assert set(text) <= URL_SAFE  # a query value as it is, no padding to escape


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!",
        "w6k",  # not ASCII inside
        base64.urlsafe_b64encode(b"12").decode(),
        base64.urlsafe_b64encode(b"12:42").decode(),
        base64.urlsafe_b64encode(b"-1:" + b"0" * 20).decode(),
        base64.urlsafe_b64encode(b"1e3:" + b"0" * 20).decode(),
        base64.urlsafe_b64encode(b"9" * 16 + b":" + b"0" * 20).decode(),
    ],
)
def test_a_cursor_this_api_did_not_give_is_refused(text: str) -> None:
    with pytest.raises(BadFilter, match=r"^cursor: "):
        parse_cursor(text)
