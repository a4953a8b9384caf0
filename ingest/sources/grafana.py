"""Grafana Alerting's webhook contact point, ``version: "1"``.

Grafana's notification is Alertmanager's (Grafana runs an Alertmanager) with fields of its
own, so each alert becomes an ``Alert`` as in ``ingest.sources.alertmanager``: the
``fingerprint`` is the dedup key, annotation ``summary`` (else ``description``, else label
``alertname``) the summary, Go's zero time is "not set", ``externalURL`` the origin and
``truncatedAlerts`` (the contact point's "Max alerts" left them out) ``sender_not_shown``.

Grafana's own per-alert fields are kept as annotations, unless the rule's annotations
already use the name: ``silenceURL`` as ``silence_url``, ``dashboardURL`` as
``dashboard_url``, ``panelURL`` as ``panel_url``, ``imageURL`` as ``image_url``,
``valueString`` as ``value_string``, and ``values`` (the query results by ref id) as
``values``, written ``B=44.2 C=1``. Empty ones (Grafana sends ``""`` for a rule without a
dashboard) are left out.

Read but not used: ``orgId``, ``state``, ``title``, ``message`` (the notification's
rendered text: each alert carries its own annotations), ``groupKey``, ``groupLabels``,
``common*`` and ``receiver``.

A signature (the contact point's "HMAC Signature") is checked before the body is read as
JSON, by ``ingest.signature`` when the integration has ``hmac_secret``.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ingest.config import Integration
from ingest.models import MAX_LABELS, Alert
from ingest.sources.alertmanager import AlertmanagerAlert, NotificationFields, to_alerts
from ingest.sources.base import (
    MAX_ALERTS,
    Annotations,
    LongText,
    ShortText,
    validate,
)

_KEPT = ("silence_url", "dashboard_url", "panel_url", "image_url", "value_string", "values")
_MAX_VALUES = 100
_RefId = Annotated[str, Field(max_length=64)]


class _GrafanaAlert(AlertmanagerAlert):
    # Room is kept for the fields that join them.
    annotations: Annotated[Annotations, Field(max_length=MAX_LABELS - len(_KEPT))] = Field(
        default_factory=dict
    )
    silence_url: ShortText | None = Field(default=None, alias="silenceURL")
    dashboard_url: ShortText | None = Field(default=None, alias="dashboardURL")
    panel_url: ShortText | None = Field(default=None, alias="panelURL")
    image_url: ShortText | None = Field(default=None, alias="imageURL")
    value_string: LongText | None = Field(default=None, alias="valueString")
    values: Annotated[dict[_RefId, float | None], Field(max_length=_MAX_VALUES)] | None = None


class _GrafanaNotification(NotificationFields):
    version: Literal["1"]
    """Checked so that a future format with another shape is refused, not misread."""
    alerts: Annotated[list[_GrafanaAlert], Field(max_length=MAX_ALERTS)]


_NOTIFICATION = TypeAdapter(_GrafanaNotification)


class GrafanaSource:
    name = "grafana"
    payload: TypeAdapter[_GrafanaNotification] = _NOTIFICATION
    """What the webhook reads (its schema is published in ``/openapi.json``)."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        notification = validate(_NOTIFICATION, body)
        return to_alerts(
            notification,
            notification.alerts,
            _annotations,
            integration=integration,
            source=self.name,
            now=now,
        )


def _annotations(alert: _GrafanaAlert) -> dict[str, str]:
    kept = {
        "silence_url": alert.silence_url,
        "dashboard_url": alert.dashboard_url,
        "panel_url": alert.panel_url,
        "image_url": alert.image_url,
        "value_string": alert.value_string,
        "values": _values(alert.values or {}),
    }
    return {**{name: text for name, text in kept.items() if text}, **alert.annotations}


def _values(values: dict[str, float | None]) -> str:
    return " ".join(f"{ref}={_number(value)}" for ref, value in values.items())


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    return str(int(value)) if value.is_integer() else repr(value)
