from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from router.maintenance import MaintenanceWindow
from schedules.yamlfile import ConfigFileError
from tocsin.config import load_config

SUNDAY_NIGHT = MaintenanceWindow(
    name="payments-db",
    matchers=["service=payments"],
    timezone="Europe/Berlin",
    days=["sun"],
    start="02:00",
    end="04:00",
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        ("2026-03-01T00:59", False),  # Sunday 01:59 in Berlin (UTC+1)
        ("2026-03-01T01:00", True),
        ("2026-03-01T02:59", True),
        ("2026-03-01T03:00", False),
        ("2026-03-02T01:30", False),  # a Monday
        # Summer time: the same wall clock is an hour earlier in UTC.
        ("2026-07-05T00:00", True),
        ("2026-07-05T02:00", False),
    ],
)
def test_open_on_its_days_at_its_local_hours(now: str, open_: bool) -> None:
    assert (SUNDAY_NIGHT.open_at(utc(now)) is not None) is open_


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = SUNDAY_NIGHT.model_copy(update={"days": ["fri"], "start": "22:00", "end": "06:00"})
    friday_late = utc("2026-03-06T22:30")  # 23:30 Friday in Berlin
    saturday_early = utc("2026-03-07T04:30")  # 05:30 Saturday
    assert night.open_at(friday_late) == (utc("2026-03-06T21:00"), utc("2026-03-07T05:00"))
    assert night.open_at(saturday_early) == (utc("2026-03-06T21:00"), utc("2026-03-07T05:00"))
    assert night.open_at(utc("2026-03-07T22:30")) is None  # Saturday night is not in it


def test_while_open_it_is_a_silence_until_its_end() -> None:
    now = utc("2026-03-01T01:30")
    silence = SUNDAY_NIGHT.silence_at(now)
    assert silence is not None
    assert silence.id == "maintenance:payments-db"
    assert silence.holds({"service": "payments"}, now)
    assert not silence.holds({"service": "db"}, now)
    assert silence.ends_at == utc("2026-03-01T03:00")
    assert SUNDAY_NIGHT.silence_at(now + timedelta(hours=2)) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"start": "2am"}, "invalid time '2am'"),
        ({"end": "24:00"}, "invalid time '24:00'"),
        ({"days": ["sunday"]}, "Input should be 'mon'"),
        ({"matchers": ["service"]}, "is not a matcher"),
        ({"matchers": ["team="]}, "must not match the empty string"),
    ],
)
def test_what_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MaintenanceWindow.model_validate(SUNDAY_NIGHT.model_dump() | changes)
    assert message in str(caught.value)


def test_a_bad_window_in_the_config_file_is_named_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(
        "people: {alice: {name: Alice, console: true}}\n"
        "escalation_policies: {p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}}\n"
        "routes: [{policy: p}]\n"
        "maintenance_windows:\n"
        "  - {name: db, matchers: [service=db], timezone: Europe/Berlin, start: '02:00', end: 4}\n"
    )
    with pytest.raises(ConfigFileError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:5: maintenance_windows[0].end: ")
