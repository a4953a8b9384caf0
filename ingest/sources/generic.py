"""Tocsin's own simple format, for scripts and tools without a module of their own.

The body is one object or a JSON list of them::

    {"summary": "Disk full on db-1", "severity": "critical",
     "dedup_key": "disk-db-1", "status": "firing", "labels": {"host": "db-1"},
     "source": "cron@db-1"}

Only ``summary`` and ``severity`` are required; ``status`` defaults to ``firing``. A resolve
(``"status": "resolved"``) needs only what identifies the alert: its ``dedup_key``, or the
labels or summary it fired with.

- ``labels`` gain ``severity`` from the severity field, unless they already have one.
- ``source`` (the system that raised it) becomes ``Alert.origin``.
A ``mapping`` in the integration reads the sender's own shape instead
(``ingest.sources.mapped``).

- ``dedup_key``: the sender's, else a fingerprint of the sender's own labels, so a summary
  whose text changes ("91% full", "95% full") stays one alert. With no labels, the summary is
  the identity: two alerts with different summaries are two alerts. ``severity`` is never
  part of the identity, so a resolve needs no matching severity.
"""

from datetime import datetime
from typing import Annotated

from pydantic import Field, TypeAdapter, model_validator

from ingest.config import Integration
from ingest.fingerprint import identity
from ingest.models import MAX_LABELS, Alert, AlertStatus
from ingest.sources.base import (
    MAX_ALERTS,
    DedupKey,
    Labels,
    LongText,
    Payload,
    SentStatus,
    ShortText,
    validate,
)
from ingest.sources.mapped import parse_mapped

_UNSAID = "\0"
"""Stands in for a summary or severity a resolve left out, so the fields stay required (and
named in errors) for firing alerts. A resolve that sends a lone NUL as either is read the
same way: only its identity counts."""


class _GenericAlert(Payload):
    summary: LongText = Field(min_length=1)
    severity: ShortText = Field(min_length=1)
    dedup_key: DedupKey | None = None
    status: SentStatus = SentStatus.FIRING
    # One place is kept for the severity, which joins them.
    labels: Annotated[Labels, Field(max_length=MAX_LABELS - 1)] = Field(default_factory=dict)
    source: ShortText | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_resolve_needs_only_its_identity(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("status") == SentStatus.RESOLVED.value:
            if not any(data.get(name) for name in ("dedup_key", "labels", "summary")):
                raise ValueError(
                    "a resolve needs what identifies the alert: dedup_key, labels or summary"
                )
            return {"summary": _UNSAID, "severity": _UNSAID, **data}
        return data


_ONE = TypeAdapter(_GenericAlert)
_MANY = TypeAdapter(Annotated[list[_GenericAlert], Field(max_length=MAX_ALERTS)])
_ONE_OR_MANY = TypeAdapter(
    Annotated[_GenericAlert, Field(title="Alert")]
    | Annotated[list[_GenericAlert], Field(max_length=MAX_ALERTS, title="Alerts")]
)


class GenericSource:
    name = "generic"
    payload: TypeAdapter[_GenericAlert | list[_GenericAlert]] = _ONE_OR_MANY
    """What the webhook reads (its schema is published in ``/openapi.json``)."""

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        if integration.mapping is not None:
            return parse_mapped(body, integration.mapping, integration, now)
        # Chosen by shape rather than as a union, so errors name "[2].summary", not both
        # union branches.
        items = validate(_MANY, body) if isinstance(body, list) else [validate(_ONE, body)]
        return [
            Alert(
                dedup_key=item.dedup_key or identity(item.labels, item.summary),
                status=AlertStatus(item.status),
                summary=item.summary if item.summary != _UNSAID else "resolved",
                labels=item.labels
                if item.severity == _UNSAID
                else {
                    "severity": item.severity,
                    **item.labels,
                },
                integration=integration.name,
                source=self.name,
                origin=item.source or None,
                received_at=now,
            )
            for item in items
        ]
