"""Prometheus Alertmanager's webhook, version 4 (``webhook_config`` receivers).

One notification carries a group of alerts; each becomes one ``Alert``:

- ``dedup_key``: the alert's ``fingerprint`` (Alertmanager's hash of its labels), else
  ``labels_fingerprint`` of its labels.
- ``summary``: annotation ``summary``, else ``description``, else label ``alertname``, else
  ``"alert"``.
- ``starts_at``/``ends_at``: Alertmanager sends Go's zero time (``0001-01-01T00:00:00Z``)
  for "not set" -- always as ``endsAt`` of a firing alert -- so year 1 means unset.
- ``origin``: the notification's ``externalURL`` (the Alertmanager that sent it).

Read but not used: ``groupKey``, ``groupLabels``, ``common*`` and ``receiver``. The router
groups alerts by its own routes, and every alert already carries the common labels and
annotations itself. Fields we do not use are not validated, so a tool that sends them in an
odd shape is still accepted.
"""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from ingest.config import Integration
from ingest.fingerprint import labels_fingerprint
from ingest.models import Alert, AlertStatus
from ingest.sources.base import DedupKey, Payload, Text, validate

_GO_ZERO_YEAR = 1


class _AlertmanagerAlert(Payload):
    status: AlertStatus
    labels: dict[Text, Text]
    annotations: dict[Text, Text] = Field(default_factory=dict)
    starts_at: AwareDatetime | None = Field(default=None, alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: Text | None = Field(default=None, alias="generatorURL")
    fingerprint: DedupKey | None = None


class _Notification(Payload):
    version: Literal["4"]
    """Checked so that a future format with another shape is refused, not misread."""
    external_url: Text | None = Field(default=None, alias="externalURL")
    alerts: list[_AlertmanagerAlert]


_NOTIFICATION = TypeAdapter(_Notification)


class AlertmanagerSource:
    name = "alertmanager"

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        notification = validate(_NOTIFICATION, body)
        return [
            Alert(
                dedup_key=alert.fingerprint or labels_fingerprint(alert.labels),
                status=alert.status,
                summary=_summary(alert),
                labels=alert.labels,
                annotations=alert.annotations,
                integration=integration.name,
                source=self.name,
                origin=notification.external_url or None,
                generator_url=alert.generator_url or None,
                starts_at=_unless_zero(alert.starts_at),
                ends_at=_unless_zero(alert.ends_at),
                received_at=now,
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


def _unless_zero(moment: datetime | None) -> datetime | None:
    # By year, not by equality with the zero time: comparing aware datetimes converts to UTC,
    # which overflows for year 1 with a positive offset.
    if moment is None or moment.year == _GO_ZERO_YEAR:
        return None
    return moment
