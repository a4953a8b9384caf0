"""The pure rules of heartbeats: when one is missed, the alerts it raises, its grace, and which
alerts are watchdog pings."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.config import Integration, Watchdog
from ingest.heartbeats import (
    ALERTNAME,
    MIN_GRACE,
    Heartbeat,
    grace_of,
    heartbeats_of,
    is_missed,
    missed_alert,
    resumed_alert,
    take_watchdogs,
)
from ingest.models import Alert, AlertStatus
from schedules.durations import MAX_DURATION

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BACKUP = Heartbeat("backup", timedelta(minutes=5), timedelta(minutes=1))
WATCHED = Heartbeat(
    "prod-am-watchdog", timedelta(minutes=5), timedelta(minutes=1), Watchdog(integration="prod-am")
)


def alert(
    alertname: str, *, integration: str = "prod-am", status: AlertStatus = AlertStatus.FIRING
) -> Alert:
    return Alert(
        dedup_key=f"{integration}-{alertname}-{status}",
        status=status,
        summary=alertname,
        labels={"alertname": alertname},
        integration=integration,
        source="alertmanager",
        received_at=NOW,
    )


@pytest.mark.parametrize(
    ("interval", "configured", "grace"),
    [
        (timedelta(minutes=5), None, MIN_GRACE),  # a tenth would be 30 s
        (timedelta(hours=1), None, timedelta(minutes=6)),
        (timedelta(days=1), None, timedelta(hours=2, minutes=24)),
        (timedelta(seconds=1001), None, timedelta(seconds=100)),  # whole seconds
        (timedelta(days=1), timedelta(seconds=30), timedelta(seconds=30)),
    ],
)
def test_grace(interval: timedelta, configured: timedelta | None, grace: timedelta) -> None:
    assert grace_of(interval, configured) == grace


@given(st.integers(min_value=1, max_value=int(MAX_DURATION.total_seconds())))
def test_default_grace_is_a_tenth_at_least_a_minute_in_whole_seconds(seconds: int) -> None:
    grace = grace_of(timedelta(seconds=seconds), None)

    assert grace >= MIN_GRACE
    assert abs(grace.total_seconds() - max(60, seconds / 10)) <= 0.5
    assert grace.total_seconds() == int(grace.total_seconds())


def test_missed_once_interval_and_grace_have_passed() -> None:
    assert not is_missed(BACKUP, NOW, NOW + timedelta(minutes=6) - timedelta(milliseconds=1))
    assert is_missed(BACKUP, NOW, NOW + timedelta(minutes=6))


def test_the_missed_alert_says_since_when() -> None:
    last_ping = datetime(2026, 3, 2, 10, 42, 13, tzinfo=UTC)
    missed = missed_alert(BACKUP, last_ping, NOW)

    assert missed.status is AlertStatus.FIRING
    assert missed.summary == "no heartbeat from backup since 10:42 UTC"
    assert missed.labels == {"alertname": ALERTNAME, "heartbeat": "backup"}
    assert (missed.integration, missed.source) == ("backup", "heartbeat")
    assert missed.starts_at == last_ping + timedelta(minutes=6)
    assert missed.received_at == NOW
    assert missed.annotations["description"] == (
        "backup pings every 5m; none came for 6m (grace 1m)"
    )


def test_a_ping_of_another_day_is_shown_with_its_date() -> None:
    missed = missed_alert(BACKUP, datetime(2026, 3, 1, 23, 59, tzinfo=UTC), NOW)

    assert missed.summary == "no heartbeat from backup since 2026-03-01 23:59 UTC"


def test_the_resumed_alert_resolves_the_missed_one() -> None:
    missed = missed_alert(BACKUP, NOW - timedelta(hours=1), NOW)
    resumed = resumed_alert(BACKUP, NOW)

    assert resumed.status is AlertStatus.RESOLVED
    assert (resumed.dedup_key, resumed.labels) == (missed.dedup_key, missed.labels)
    assert resumed.ends_at == NOW


def test_firing_watchdogs_are_pings_and_never_alerts() -> None:
    other = alert("HighLatency")
    elsewhere = alert("Watchdog", integration="staging-am")
    pinged, others = take_watchdogs(
        [BACKUP, WATCHED],
        [alert("Watchdog"), other, alert("Watchdog", status=AlertStatus.RESOLVED), elsewhere],
    )

    assert pinged == [WATCHED]
    assert others == [other, elsewhere]


def test_a_resolved_watchdog_pings_nothing() -> None:
    resolved = alert("Watchdog", status=AlertStatus.RESOLVED)

    assert take_watchdogs([WATCHED], [resolved]) == ([], [])


def test_an_alertname_of_its_own() -> None:
    dead_mans_switch = Heartbeat(
        "dms",
        timedelta(minutes=1),
        MIN_GRACE,
        Watchdog(integration="prod-am", alertname="DeadMansSwitch"),
    )

    pinged, others = take_watchdogs([dead_mans_switch], [alert("DeadMansSwitch")])

    assert (pinged, others) == ([dead_mans_switch], [])
    assert take_watchdogs([dead_mans_switch], [alert("Watchdog")])[0] == []


def test_heartbeats_of_the_integrations() -> None:
    integrations = [
        Integration(name="prod-am", type="alertmanager", token="a"),
        Integration(name="backup", type="heartbeat", token="b", interval=timedelta(minutes=5)),
        Integration(
            name="prod-am-watchdog",
            type="heartbeat",
            token="c",
            interval=timedelta(minutes=5),
            grace=timedelta(minutes=1),
            watchdog=Watchdog(integration="prod-am"),
        ),
    ]

    assert heartbeats_of(integrations) == [BACKUP, WATCHED]


def test_a_watchdog_must_name_an_integration_that_sends_alerts() -> None:
    integrations = [
        Integration(name="a", type="heartbeat", token="a", interval=timedelta(minutes=5)),
        Integration(
            name="b",
            type="heartbeat",
            token="b",
            interval=timedelta(minutes=5),
            watchdog=Watchdog(integration="a"),
        ),
    ]

    with pytest.raises(
        ValueError, match=r"^integrations\[1\]\.watchdog\.integration: unknown integration 'a'"
    ):
        heartbeats_of(integrations)
