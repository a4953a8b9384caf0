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

from datetime import datetime
from typing import Annotated, Literal

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


class _AlertmanagerAlert(Payload):
    status: SentStatus
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: _GoTime = Field(default=None, alias="startsAt")
    ends_at: _GoTime = Field(default=None, alias="endsAt")
    generator_url: ShortText | None = Field(default=None, alias="generatorURL")
    fingerprint: DedupKey | None = None


class _Notification(Payload):
    version: Literal["4"]
    """Checked so that a future format with another shape is refused, not misread."""
    external_url: ShortText | None = Field(default=None, alias="externalURL")
    truncated_alerts: int = Field(default=0, ge=0, le=10**9, alias="truncatedAlerts")
    alerts: Annotated[list[_AlertmanagerAlert], Field(max_length=MAX_ALERTS)]


_NOTIFICATION = TypeAdapter(_Notification)


class AlertmanagerSource:
    name = "alertmanager"
    payload: TypeAdapter[_Notification] = _NOTIFICATION
    """What the webhook reads (its schema is published in ``/openapi.json``)."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        notification = validate(_NOTIFICATION, body)
        return [
            Alert(
                dedup_key=alert.fingerprint or labels_fingerprint(alert.labels),
                status=AlertStatus(alert.status),
                summary=_summary(alert),
                labels=alert.labels,
                annotations=alert.annotations,
                integration=integration.name,
                source=self.name,
                origin=notification.external_url or None,
                generator_url=alert.generator_url or None,
                starts_at=alert.starts_at,
                ends_at=alert.ends_at,
                received_at=now,
                sender_not_shown=notification.truncated_alerts,
            )
            for alert in notification.alerts
        ]


def _summary(alert: _AlertmanagerAlert) -> str:
    return (
        alert.annotations.get("summary")
        or alert.annotations.get("description")
        or alert.labels.get("alertname")
        or "alert"
    )
