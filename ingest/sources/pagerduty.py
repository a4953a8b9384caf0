"""PagerDuty's Events API v2: alert events (``/v2/enqueue``) and change events
(``/v2/change/enqueue``), so any tool with a PagerDuty integration can send to Tocsin.

An alert event becomes one ``Alert``, by its ``event_action``:

- ``trigger``: a firing alert. ``dedup_key`` is the sender's, else a new random one (the
  endpoint answers with it, as PagerDuty does: two triggers without a key are two alerts).
  ``payload.summary`` is the summary (PagerDuty's limit: 1,024 characters);
  ``payload.severity`` (``critical``, ``error``, ``warning``, ``info``), ``source``,
  ``component``, ``group`` and ``class`` become labels, for routes and severity rules;
  ``source`` is also the alert's origin, and ``timestamp`` when it started.
  ``payload.custom_details`` become annotations, flattened (``{"db": {"host": "a"}}`` ->
  ``db.host``, lists as ``items[0]``), values as text (numbers, ``true``, ``null`` as JSON
  spells them; a detail that is not an object is the annotation ``details``). ``client``,
  ``client_url``, ``links`` and ``images`` are annotations too, unless a detail has the
  name; ``client_url``, else the first link, is the alert's link.
- ``resolve``: a resolved alert with that ``dedup_key``, and nothing else.
- ``acknowledge``: ``AlertStatus.ACKNOWLEDGED`` with that ``dedup_key``; the router
  acknowledges the open incidents where that alert fires, as ``pagerduty:<integration>``.

Both name only the alert: the endpoint gives them the labels and summary of its trigger
(``ingest.triggers``), so the router places them where the trigger went.

``routing_key`` picks the integration and is checked by the endpoint, not here. Fields
PagerDuty defines for other actions (a payload on a resolve) are ignored, as PagerDuty does.
"""

import json
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, TypeAdapter, model_validator

from ingest.config import Integration
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources.base import (
    Annotations,
    DedupKey,
    FieldError,
    LongText,
    Payload,
    PayloadError,
    ShortText,
    Timestamp,
    validate,
)

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
"""PagerDuty's limits, kept so an event Tocsin takes is one PagerDuty would take."""
MAX_CONTEXTS = 100
"""Links, and images, per event: far more than a page can show."""


def _at_most(limit: int) -> AfterValidator:
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"must be at most {limit} characters (PagerDuty's limit)")
        return text

    return AfterValidator(check)


Summary = Annotated[LongText, _at_most(MAX_SUMMARY)]
Severity = Literal["critical", "error", "warning", "info"]
_CONTEXTS = 4
"""Annotations an alert event may add to its details: client, client_url, links, images."""


class _Link(Payload):
    href: ShortText = Field(min_length=1)
    text: ShortText | None = None


class _Image(Payload):
    src: ShortText = Field(min_length=1)
    href: ShortText | None = None
    alt: ShortText | None = None


class _AlertDetails(Payload):
    summary: Summary = Field(min_length=1)
    source: ShortText = Field(min_length=1)
    severity: Severity
    timestamp: Timestamp | None = None
    component: ShortText | None = None
    group: ShortText | None = None
    class_: ShortText | None = Field(default=None, alias="class")
    custom_details: object = None


class _AlertEvent(Payload):
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: Annotated[DedupKey, _at_most(MAX_DEDUP_KEY)] | None = None
    payload: _AlertDetails | None = None
    client: ShortText | None = None
    client_url: ShortText | None = None
    links: Annotated[list[_Link], Field(max_length=MAX_CONTEXTS)] = Field(default_factory=list)
    images: Annotated[list[_Image], Field(max_length=MAX_CONTEXTS)] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _only_a_trigger_needs_a_payload(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("event_action") in ("acknowledge", "resolve"):
            # PagerDuty ignores a payload here: a malformed one must not refuse the event.
            return {key: value for key, value in data.items() if key != "payload"}
        return data

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> "_AlertEvent":
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger needs a payload (summary, source and severity)")
        if self.event_action != "trigger" and not self.dedup_key:
            raise ValueError(f"{self.event_action} needs the dedup_key of the alert")
        return self


class ChangeEvent(BaseModel):
    """A change event as the change log keeps it (``ingest.changes``)."""

    integration: str
    summary: str
    source: str | None = None
    timestamp: AwareDatetime | None = None
    """When the change happened, as the sender says."""
    received_at: AwareDatetime
    custom_details: dict[str, str] = Field(default_factory=dict)
    links: list[dict[str, str]] = Field(default_factory=list)


class _ChangeDetails(Payload):
    summary: Summary = Field(min_length=1)
    source: ShortText | None = None
    timestamp: Timestamp | None = None
    custom_details: object = None


class _ChangeEvent(Payload):
    payload: _ChangeDetails
    links: Annotated[list[_Link], Field(max_length=MAX_CONTEXTS)] = Field(default_factory=list)


_ALERT_EVENT = TypeAdapter(_AlertEvent)
_CHANGE_EVENT = TypeAdapter(_ChangeEvent)
_ANNOTATIONS = TypeAdapter(Annotations)


def new_dedup_key() -> str:
    """What PagerDuty gives a trigger without one: a random UUID (32 hex digits here)."""
    return uuid.uuid4().hex


class PagerDutySource:
    name = "pagerduty"
    payload: TypeAdapter[_AlertEvent] = _ALERT_EVENT
    """What ``/v2/enqueue`` reads, and ``change_payload`` what ``/v2/change/enqueue`` reads
    (their schemas are published in ``/openapi.json``)."""
    change_payload: TypeAdapter[_ChangeEvent] = _CHANGE_EVENT

    def __init__(self, new_key: Callable[[], str] = new_dedup_key) -> None:
        self._new_key = new_key

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        event = validate(_ALERT_EVENT, body)
        dedup_key = event.dedup_key or self._new_key()
        if event.event_action == "acknowledge":
            return [_bare(AlertStatus.ACKNOWLEDGED, dedup_key, integration, now)]
        if event.event_action == "resolve":
            return [_bare(AlertStatus.RESOLVED, dedup_key, integration, now)]
        details = event.payload
        assert details is not None  # _what_each_action_needs
        labels = {
            "severity": details.severity,
            "source": details.source,
            "component": details.component,
            "group": details.group,
            "class": details.class_,
        }
        annotations = _details(details.custom_details, "payload.custom_details", _CONTEXTS)
        for name, value in _contexts(event).items():
            annotations.setdefault(name, value)
        link = event.client_url or (event.links[0].href if event.links else None)
        return [
            Alert(
                dedup_key=dedup_key,
                status=AlertStatus.FIRING,
                summary=details.summary,
                labels={name: value for name, value in labels.items() if value},
                annotations=annotations,
                integration=integration.name,
                source=self.name,
                origin=details.source,
                generator_url=link,
                starts_at=details.timestamp,
                received_at=now,
            )
        ]


def parse_change(body: object, integration: Integration, now: datetime) -> ChangeEvent:
    """A change event, or ``PayloadError`` naming every bad field."""
    event = validate(_CHANGE_EVENT, body)
    details = event.payload
    return ChangeEvent(
        integration=integration.name,
        summary=details.summary,
        source=details.source or None,
        timestamp=details.timestamp,
        received_at=now,
        custom_details=_details(details.custom_details, "payload.custom_details"),
        links=[link.model_dump(exclude_none=True) for link in event.links],
    )


def _bare(status: AlertStatus, dedup_key: str, integration: Integration, now: datetime) -> Alert:
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=status.value,
        integration=integration.name,
        source=PagerDutySource.name,
        received_at=now,
    )


def _contexts(event: _AlertEvent) -> dict[str, str]:
    contexts = {"client": event.client, "client_url": event.client_url}
    if event.links:
        contexts["links"] = "\n".join(_shown(link.text, link.href) for link in event.links)
    if event.images:
        contexts["images"] = "\n".join(
            _shown(image.alt, image.href or image.src) for image in event.images
        )
    return {name: value for name, value in contexts.items() if value}


def _shown(text: str | None, href: str) -> str:
    return f"{text} <{href}>" if text else href


def _details(details: object, where: str, reserved: int = 0) -> dict[str, str]:
    """Custom details as annotations, flattened and bounded like any source's annotations
    (less the ``reserved`` the caller adds); ``PayloadError`` names the detail that does not
    fit."""
    if details is None:
        return {}
    limit = MAX_LABELS - reserved
    flat: dict[str, object] = {}
    if isinstance(details, dict):
        # A stack, not recursion: JSON nests as deep as the body allows.
        todo: list[tuple[str, object]] = [(str(k), v) for k, v in reversed(details.items())]
        while todo and len(flat) <= limit:
            name, value = todo.pop()
            if isinstance(value, dict) and value:
                todo += [(f"{name}.{k}", v) for k, v in reversed(value.items())]
            elif isinstance(value, list) and value:
                todo += [(f"{name}[{i}]", v) for i, v in reversed(list(enumerate(value)))]
            else:
                flat[name] = value
    else:
        flat["details"] = details
    if len(flat) > limit:
        raise PayloadError([FieldError(where, f"more than {limit} details when flattened")])
    try:
        return validate(_ANNOTATIONS, {name: _text(value) for name, value in flat.items()})
    except PayloadError as error:
        raise PayloadError(
            [
                FieldError(where + ("" if e.field.startswith("[") else ".") + e.field, e.message)
                for e in error.errors
            ]
        ) from None


def _text(value: object) -> object:
    """Text as it is, numbers as Python reads them (as every source takes them), anything
    else as JSON spells it. An infinite float is left for the annotation's check to refuse."""
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
