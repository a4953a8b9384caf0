"""Datadog's Webhooks integration, with the payload template the README gives: Datadog
fills ``$VARIABLES`` into a JSON body the user writes, so the field names are ours::

    {"id": "$ID", "title": "$EVENT_TITLE", "message": "$EVENT_MSG",
     "transition": "$ALERT_TRANSITION", "priority": "$ALERT_PRIORITY",
     "aggregate_key": "$AGGREG_KEY", "alert_id": "$ALERT_ID", "status": "$ALERT_STATUS",
     "tags": "$TAGS", "link": "$LINK", "date": "$DATE", "hostname": "$HOSTNAME"}

One body is one alert:

- ``transition`` decides firing or resolved: ``Recovered`` resolves; ``Triggered``,
  ``Re-Triggered``, ``Warn``, ``Re-Warn``, ``No Data``, ``Re-No Data`` and ``Renotify``
  fire (in any letter case). Anything else is a field error rather than a guess.
- ``dedup_key``: ``aggregate_key`` (Datadog's key for the events of one monitor and group),
  else ``monitor-`` and ``alert_id`` (the monitor: all its groups are then one alert).
- ``title`` is the summary; ``message`` becomes annotation ``description``, ``status``
  annotation ``status`` and ``id`` annotation ``event_id``.
- ``tags`` (``env:prod, role:db, monitor``) become labels: name and value split at the
  first ``:``, a tag without one is a label with an empty value, and a name given twice
  keeps its values joined by commas, in order.
- ``priority`` (``P1``...``P5``) becomes label ``priority``, unless a tag named it, so
  severity rules can map it. Datadog sends an empty string when a monitor has none.
- ``link`` is the generator URL, ``hostname`` the origin, ``date`` (Unix milliseconds) the
  start of a firing alert or the end of a resolved one.

A variable Datadog leaves empty arrives as ``""``, and counts as not given.
"""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, field_validator

from ingest.config import Integration
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources.base import (
    DedupKey,
    FieldError,
    Labels,
    LongText,
    Payload,
    PayloadError,
    ShortText,
    validate,
)

_FIRING = {"triggered", "re-triggered", "warn", "re-warn", "no data", "re-no data", "renotify"}
_RESOLVED = {"recovered"}
_KNOWN = "Recovered, Triggered, Re-Triggered, Warn, Re-Warn, No Data, Re-No Data, Renotify"
_MAX_MILLIS = 253_402_300_799_999
"""The last millisecond of the year 9999 UTC."""


def _unless_empty(value: object) -> object:
    return None if value == "" else value


def _millis(value: object) -> object:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 15:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_MILLIS:
        return datetime.fromtimestamp(value / 1000, UTC)
    if value is None or value == "":
        return None
    raise ValueError("must be Unix time in milliseconds, as Datadog's $DATE")


class _DatadogEvent(Payload):
    title: LongText = Field(min_length=1)
    transition: ShortText
    message: LongText | None = None
    priority: Annotated[ShortText | None, BeforeValidator(_unless_empty)] = None
    aggregate_key: DedupKey | None = None
    alert_id: Annotated[ShortText | None, Field(max_length=256)] = None
    status: LongText | None = None
    tags: Annotated[LongText, Field(max_length=MAX_LABELS * 64)] = ""
    link: ShortText | None = None
    date: Annotated[datetime | None, BeforeValidator(_millis)] = None
    hostname: ShortText | None = None
    id: ShortText | None = None

    @field_validator("transition")
    @classmethod
    def _a_known_transition(cls, value: str) -> str:
        if value.strip().lower() not in _FIRING | _RESOLVED:
            raise ValueError(f"unknown transition {value[:64]!r}; known: {_KNOWN}")
        return value


_EVENT = TypeAdapter(_DatadogEvent)
_LABELS = TypeAdapter(Annotated[Labels, Field(max_length=MAX_LABELS)])


class DatadogSource:
    name = "datadog"
    payload: TypeAdapter[_DatadogEvent] = _EVENT
    """What the webhook reads (its schema is published in ``/openapi.json``)."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        event = validate(_EVENT, body)
        labels = _labels(event)
        dedup_key = event.aggregate_key or (event.alert_id and f"monitor-{event.alert_id}")
        if not dedup_key:
            message = "needs aggregate_key ($AGGREG_KEY) or alert_id ($ALERT_ID)"
            raise PayloadError([FieldError("aggregate_key", message)])
        resolved = event.transition.strip().lower() in _RESOLVED
        annotations = {
            "description": event.message,
            "status": event.status,
            "event_id": event.id,
        }
        return [
            Alert(
                dedup_key=dedup_key,
                status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
                summary=event.title,
                labels=labels,
                annotations={name: text for name, text in annotations.items() if text},
                integration=integration.name,
                source=self.name,
                origin=event.hostname or None,
                generator_url=event.link or None,
                starts_at=None if resolved else event.date,
                ends_at=event.date if resolved else None,
                received_at=now,
            )
        ]


def tag_labels(tags: str) -> dict[str, str]:
    """``"env:prod, role:db,monitor"`` -> ``{"env": "prod", "role": "db", "monitor": ""}``;
    the values of a name given twice are joined by commas."""
    labels: dict[str, str] = {}
    for tag in tags.split(","):
        name, _, value = tag.strip().partition(":")
        if not name:
            continue
        labels[name] = f"{labels[name]},{value}" if name in labels else value
    return labels


def _labels(event: _DatadogEvent) -> dict[str, str]:
    tags = tag_labels(event.tags)
    if event.priority is not None:
        tags = {"priority": event.priority, **tags}
    try:
        return _LABELS.validate_python(tags)
    except ValidationError as error:
        raise PayloadError(
            [FieldError("tags", detail["msg"]) for detail in error.errors(include_url=False)]
        ) from None
