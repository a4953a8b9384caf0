"""Prometheus Alertmanager's webhook, version 4 (``webhook_config`` receivers).

One notification carries a group of alerts; each becomes one ``Alert``:

- ``dedup_key``: the alert's ``fingerprint`` (Alertmanager's hash of its labels), else
  ``labels_fingerprint`` of its labels.
- ``summary``: annotation ``summary``, else ``description``, else label ``alertname``, else
  ``"alert"``.
- ``starts_at``/``ends_at``: Alertmanager sends Go's zero time (``0001-01-01T00:00:00Z``)
  for "not set" -- always as ``endsAt`` of a firing alert -- so year 1 means unset, whatever
  its offset.
- ``origin``: the notification's ``externalURL`` (the Alertmanager that sent it).
- ``sender_not_shown``: the notification's ``truncatedAlerts`` (``max_alerts`` in the
  receiver left them out), so the incident is not resolved while those may still fire.

Read but not used: ``groupKey``, ``groupLabels``, ``common*`` and ``receiver``. The router
groups alerts by its own routes, and every alert already carries the common labels and
annotations itself. Fields we do not use are not validated, so a tool that sends them in an
odd shape is still accepted.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BeforeValidator, Field, TypeAdapter

from ingest.config import Integration
from ingest.fingerprint import labels_fingerprint
from ingest.models import Alert, AlertStatus
from ingest.sources.base import (
    MAX_ALERTS,
    Annotations,
    DedupKey,
    Labels,
    Payload,
    SentStatus,
    ShortText,
    Timestamp,
    validate,
)


def _unless_zero(value: object) -> object:
    # On the text, before it is read as a time: a year-1 time with a positive offset is
    # before the first day Python's calendar has in UTC, and would be refused as a time.
    return None if isinstance(value, str) and value.startswith("0001-") else value


_GoTime = Annotated[Timestamp | None, BeforeValidator(_unless_zero)]


class AlertmanagerAlert(Payload):
    """One alert of Alertmanager's notification; Grafana's alerts extend it."""

    status: SentStatus
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: _GoTime = Field(default=None, alias="startsAt")
    ends_at: _GoTime = Field(default=None, alias="endsAt")
    generator_url: ShortText | None = Field(default=None, alias="generatorURL")
    fingerprint: DedupKey | None = None


class NotificationFields(Payload):
    """What Alertmanager's notification and Grafana's share, besides their alerts."""

    external_url: ShortText | None = Field(default=None, alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, le=10**9, alias="truncatedAlerts")


class _Notification(NotificationFields):
    version: Literal["4"]
    """Checked so that a future format with another shape is refused, not misread."""
    alerts: Annotated[list[AlertmanagerAlert], Field(max_length=MAX_ALERTS)]


_NOTIFICATION = TypeAdapter(_Notification)


class AlertmanagerSource:
    name = "alertmanager"
    payload: TypeAdapter[_Notification] = _NOTIFICATION
    """What the webhook reads (its schema is published in ``/openapi.json``)."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        notification = validate(_NOTIFICATION, body)
        return to_alerts(
            notification,
            notification.alerts,
            lambda alert: alert.annotations,
            integration=integration,
            source=self.name,
            now=now,
        )


A = TypeVar("A", bound=AlertmanagerAlert)


def to_alerts(
    notification: NotificationFields,
    alerts: Sequence[A],
    annotations: Callable[[A], dict[str, str]],
    *,
    integration: Integration,
    source: str,
    now: datetime,
) -> list[Alert]:
    """The ``Alert`` of each Alertmanager-shaped alert, with the ``annotations`` a source
    gives it (its own, or more)."""
    return [
        Alert(
            dedup_key=alert.fingerprint or labels_fingerprint(alert.labels),
            status=AlertStatus(alert.status),
            summary=_summary(alert),
            labels=alert.labels,
            annotations=annotations(alert),
            integration=integration.name,
            source=source,
            origin=notification.external_url or None,
            generator_url=alert.generator_url or None,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            received_at=now,
            sender_not_shown=notification.truncated_alerts,
        )
        for alert in alerts
    ]


def _summary(alert: AlertmanagerAlert) -> str:
    return (
        alert.annotations.get("summary")
        or alert.annotations.get("description")
        or alert.labels.get("alertname")
        or "alert"
    )
