"""Heartbeats (dead-man's switches): a job that should ping every ``interval`` and stops.

Pure rules; the store (``ingest.heartbeat_store``) keeps the last pings and decides each
transition once, whatever number of web processes check at the same time.

- A heartbeat is missed once ``interval + grace`` has passed since its last ping (or since
  the service first saw it configured: a heartbeat is never missed at its first start).
- A missed heartbeat is a firing alert, labels ``alertname=HeartbeatMissed`` and
  ``heartbeat=<name>``, routed and given a severity like any alert; the next ping is the
  same alert resolved (same dedup key), which resolves its incident.
- Grace, unless configured: a tenth of the interval, at least a minute, so a cron job that
  starts a few seconds late or a clock a little off never pages.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.config import HEARTBEAT, Conflict, Integration, Watchdog
from ingest.models import Alert, AlertStatus
from schedules.durations import format_duration
from schedules.yamlfile import format_loc

SOURCE = HEARTBEAT
"""``Alert.source`` (the ``__source__`` pseudo-label) of the alerts heartbeats raise."""
ALERTNAME = "HeartbeatMissed"
MIN_GRACE = timedelta(minutes=1)
GRACE_SHARE = 0.1


@dataclass(frozen=True)
class Heartbeat:
    name: str
    interval: timedelta
    grace: timedelta
    watchdog: Watchdog | None = None

    @property
    def allowed_silence(self) -> timedelta:
        """How long after a ping it is missed."""
        return self.interval + self.grace

    @property
    def dedup_key(self) -> str:
        return f"heartbeat:{self.name}"


def grace_of(interval: timedelta, grace: timedelta | None) -> timedelta:
    if grace is not None:
        return grace
    # Whole seconds, as every configured duration is.
    return max(MIN_GRACE, timedelta(seconds=round(interval.total_seconds() * GRACE_SHARE)))


def heartbeats_of(integrations: Sequence[Integration]) -> list[Heartbeat]:
    """The configured heartbeats; ``ValueError`` naming every problem of
    ``heartbeat_problems``."""
    problems = heartbeat_problems(integrations)
    if problems:
        raise ValueError("; ".join(f"{format_loc(loc)}: {text}" for loc, text in problems))
    return [
        Heartbeat(i.name, i.interval, grace_of(i.interval, i.grace), i.watchdog)
        for i in integrations
        if i.type == HEARTBEAT and i.interval is not None
    ]


def heartbeat_problems(integrations: Sequence[Integration]) -> list[Conflict]:
    """Every watchdog that names no integration that sends alerts."""
    senders = {i.name for i in integrations if i.type != HEARTBEAT}
    problems: list[Conflict] = []
    for index, integration in enumerate(integrations):
        watchdog = integration.watchdog
        if watchdog is not None and watchdog.integration not in senders:
            message = (
                f"unknown integration {watchdog.integration!r}: "
                "name one that sends alerts (not a heartbeat)"
            )
            problems.append((("integrations", index, "watchdog", "integration"), message))
    return problems


def take_watchdogs(
    heartbeats: Sequence[Heartbeat], alerts: Sequence[Alert]
) -> tuple[list[Heartbeat], list[Alert]]:
    """The heartbeats that firing watchdog alerts among ``alerts`` ping, and the other
    alerts. A watchdog alert is a ping, never an incident of its own: it always fires, and
    a resolved one says only that pings stopped, which its heartbeat will tell."""
    watched = [heartbeat for heartbeat in heartbeats if heartbeat.watchdog is not None]
    if not watched:
        return [], list(alerts)
    pinged: dict[str, Heartbeat] = {}
    others: list[Alert] = []
    for alert in alerts:
        feeds = [heartbeat for heartbeat in watched if _is_watchdog(heartbeat, alert)]
        if not feeds:
            others.append(alert)
        elif alert.is_firing:
            pinged.update((heartbeat.name, heartbeat) for heartbeat in feeds)
    return list(pinged.values()), others


def _is_watchdog(heartbeat: Heartbeat, alert: Alert) -> bool:
    watchdog = heartbeat.watchdog
    return (
        watchdog is not None
        and alert.integration == watchdog.integration
        and alert.labels.get("alertname") == watchdog.alertname
    )


def is_missed(heartbeat: Heartbeat, last_ping: datetime, now: datetime) -> bool:
    return now >= last_ping + heartbeat.allowed_silence


def missed_alert(heartbeat: Heartbeat, last_ping: datetime, now: datetime) -> Alert:
    return Alert(
        dedup_key=heartbeat.dedup_key,
        status=AlertStatus.FIRING,
        summary=f"no heartbeat from {heartbeat.name} since {_when(last_ping, now)}",
        labels=_labels(heartbeat),
        annotations={
            "description": (
                f"{heartbeat.name} pings every {format_duration(heartbeat.interval)}; none "
                f"came for {format_duration(heartbeat.allowed_silence)} "
                f"(grace {format_duration(heartbeat.grace)})"
            ),
            "last_ping": last_ping.isoformat(),
        },
        integration=heartbeat.name,
        source=SOURCE,
        starts_at=last_ping + heartbeat.allowed_silence,
        received_at=now,
    )


def resumed_alert(heartbeat: Heartbeat, now: datetime) -> Alert:
    return Alert(
        dedup_key=heartbeat.dedup_key,
        status=AlertStatus.RESOLVED,
        summary=f"heartbeat from {heartbeat.name} again",
        labels=_labels(heartbeat),
        integration=heartbeat.name,
        source=SOURCE,
        ends_at=now,
        received_at=now,
    )


def _labels(heartbeat: Heartbeat) -> dict[str, str]:
    return {"alertname": ALERTNAME, "heartbeat": heartbeat.name}


def _when(moment: datetime, now: datetime) -> str:
    """The time of day when it is today's, else the date too."""
    shown = "%H:%M" if moment.date() == now.date() else "%Y-%m-%d %H:%M"
    return f"{moment.strftime(shown)} UTC"
